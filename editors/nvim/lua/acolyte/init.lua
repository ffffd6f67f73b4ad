-- acolyte.nvim: attach acolyte-lsp to file buffers and expose its commands.
-- Needs Neovim 0.8+ (vim.lsp.start). Usage: require("acolyte").setup({ ... })
local M = {}

local defaults = {
  cmd = { "acolyte-lsp" }, -- how to start the server (stdio)
  root_markers = { ".acolyte", ".git" }, -- the nearest folder holding one is the workspace
  init_options = {}, -- the same keys as .acolyte, e.g. { weaviate = { url = "http://localhost:8080" } }
  search_limit = 20,
}

M.config = vim.deepcopy(defaults)

local function notify(message, level)
  vim.notify("acolyte: " .. message, level or vim.log.levels.INFO)
end

--- The workspace folder for a buffer: the nearest parent holding a root marker.
function M.root_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local marker = vim.fs.find(M.config.root_markers, { upward = true, path = vim.fs.dirname(name) })[1]
  return marker and vim.fs.dirname(marker) or nil
end

--- Start (or reuse) the acolyte-lsp client for a buffer's workspace.
function M.attach(bufnr)
  local root = M.root_dir(bufnr)
  if not root then
    return nil
  end
  return vim.lsp.start({
    name = "acolyte",
    cmd = M.config.cmd,
    root_dir = root,
    init_options = M.config.init_options,
  }, { bufnr = bufnr })
end

--- Set up the plugin. Returns false (with a message) on a Neovim without vim.lsp.start.
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if not (vim.lsp and vim.lsp.start) then
    local version = vim.version and vim.version() or nil
    local shown = version and string.format("%d.%d.%d", version.major, version.minor, version.patch) or "unknown"
    notify(
      "needs Neovim 0.8 or newer (vim.lsp.start); this is " .. shown
        .. ". Upgrade Neovim, or start `acolyte-lsp` yourself with vim.lsp.start_client({ cmd = { 'acolyte-lsp' } }).",
      vim.log.levels.ERROR
    )
    return false
  end
  local group = vim.api.nvim_create_augroup("acolyte", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
    group = group,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
  return true
end

--- The running acolyte-lsp client, if any.
function M.client()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ name = "acolyte" })[1]
end

local function request(client, method, params, handler)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request(method, params, handler)
  end
  return client.request(method, params, handler)
end

--- Run one of the server's commands; `on_result` gets the result.
function M.execute(command, arguments, on_result)
  local client = M.client()
  if not client then
    notify("acolyte-lsp is not running (open a file inside a workspace)", vim.log.levels.WARN)
    return
  end
  request(client, "workspace/executeCommand", { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(err.message or vim.inspect(err), vim.log.levels.ERROR)
    elseif on_result then
      on_result(result)
    end
  end)
end

function M.reindex(force)
  M.execute("acolyte.reindexWorkspace", { { force = force and true or false } }, function(result)
    if not result.started then
      notify("not re-indexed: " .. tostring(result.reason), vim.log.levels.WARN)
      return
    end
    local indexed = 0
    for _, summary in ipairs(result.summaries or {}) do
      indexed = indexed + (summary.files_indexed or 0)
    end
    notify(string.format("re-indexed %d file(s)", indexed))
  end)
end

function M.status()
  M.execute("acolyte.indexStatus", nil, function(status)
    local lines = { string.format("state: %s · %s (%s)", status.state, status.weaviate_url, status.class_name) }
    for _, root in ipairs(status.roots or {}) do
      table.insert(lines, string.format("%s: %s chunks", root.path, tostring(root.chunks_in_weaviate)))
    end
    if status.last_error then
      table.insert(lines, "last error: " .. status.last_error)
    end
    notify(table.concat(lines, "\n"))
  end)
end

--- Semantic search; results go to the quickfix list.
function M.search(query)
  if not query or query == "" then
    notify("usage: :AcolyteSearch {query}", vim.log.levels.WARN)
    return
  end
  M.execute("acolyte.search", { { query = query, limit = M.config.search_limit } }, function(results)
    local items = {}
    for _, hit in ipairs(results) do
      table.insert(items, {
        filename = vim.uri_to_fname(hit.uri),
        lnum = hit.range.start.line + 1,
        col = 1,
        text = string.format("%s [%s] %.3f", hit.name, hit.kind, hit.score),
      })
    end
    vim.fn.setqflist({}, " ", { title = "acolyte: " .. query, items = items })
    if #items > 0 then
      vim.cmd("copen")
    else
      notify("no results for " .. query)
    end
  end)
end

return M
