-- User commands of acolyte.nvim (the server starts once require("acolyte").setup() is called).
if vim.g.loaded_acolyte then
  return
end
vim.g.loaded_acolyte = true

vim.api.nvim_create_user_command("AcolyteReindex", function(opts)
  require("acolyte").reindex(opts.args == "force")
end, { nargs = "?", complete = function() return { "force" } end, desc = "Re-index the workspace (force: re-send everything)" })

vim.api.nvim_create_user_command("AcolyteStatus", function()
  require("acolyte").status()
end, { desc = "Show acolyte-lsp's index status" })

vim.api.nvim_create_user_command("AcolyteSearch", function(opts)
  require("acolyte").search(opts.args)
end, { nargs = "+", desc = "Semantic code search; results in the quickfix list" })
