"""The Neovim plugin (editors/nvim) in a real, headless Neovim, against the protocol test server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.files import lines, write
from tests.weaviate_server import WeaviateTestServer

PLUGIN = Path(__file__).resolve().parents[2] / "editors" / "nvim"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed (the test extra brings it)")

DRIVER = r"""
local out = {}
local function finish()
  local f = io.open(vim.g.acolyte_result, "w"); f:write(vim.json.encode(out)); f:close()
  vim.cmd("qa!")
end
local ended = false
local indexing = {}  -- tokens of "Indexing workspace" progress (others, e.g. "Embedding model", may come first)
vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(ev)
    local params = ev.data.params
    local value = params.value
    if value.kind == "begin" and value.title == "Indexing workspace" then indexing[params.token] = true end
    if value.kind == "end" and indexing[params.token] then ended = true; out.progress_end = value.message end
  end,
})
local ok, err = pcall(function()
  out.version = tostring(vim.version())
  out.setup = require("acolyte").setup({
    cmd = { vim.g.acolyte_python, "-m", "acolyte_lsp" },
    init_options = { weaviate = { url = vim.g.acolyte_url, timeout_retries = 0, connection_error_retries = 0 },
                     indexing = { chunk_lines = 10, chunk_overlap = 2, debounce_ms = 50 } },
  })
  vim.cmd("edit " .. vim.g.acolyte_root .. "/bad.py")
  local buf = vim.api.nvim_get_current_buf()
  local function status()
    local client = require("acolyte").client()
    if not client then return nil end
    local reply = client:request_sync("workspace/executeCommand", { command = "acolyte.indexStatus" }, 5000, buf)
    return reply and reply.result
  end
  out.indexed = vim.wait(30000, function() return ended end, 100)
  local s = status()
  out.chunks = s and s.roots[1].chunks_in_weaviate
  -- Make the file one the server rejects, save it, and wait for the diagnostic.
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "x = 1", "y = 2", "POISON = 3" })
  vim.cmd("write")
  out.diagnosed = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 100)
  local d = vim.diagnostic.get(buf)[1]
  if d then out.diagnostic = { lnum = d.lnum, source = d.source, code = d.code, message = d.message } end
  vim.cmd("AcolyteSearch invoice total")
  out.searched = vim.wait(20000, function() return #vim.fn.getqflist() > 0 end, 100)
  out.quickfix = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(out.quickfix, vim.api.nvim_buf_get_name(item.bufnr))
  end
end)
out.ok, out.err = ok, err and tostring(err) or nil
finish()
"""


def _run_nvim(tmp_path: Path, url: str, root: Path, driver: str = DRIVER, binary: Path | None = None) -> dict[str, object]:
    script = tmp_path / "driver.lua"
    script.write_text(driver)
    result = tmp_path / "result.json"
    command = [
        str(binary or NVIM), "--headless", "--clean", "-n",
        "--cmd", f"set rtp^={PLUGIN}",
        "--cmd", f"let g:acolyte_result = '{result}'",
        "--cmd", f"let g:acolyte_python = '{sys.executable}'",
        "--cmd", f"let g:acolyte_url = '{url}'",
        "--cmd", f"let g:acolyte_root = '{root}'",
        "-c", f"luafile {script}",
    ]
    subprocess.run(command, cwd=root, timeout=180, capture_output=True, text=True)
    return json.loads(result.read_text())


def test_neovim_indexes_shows_the_rejection_and_searches(test_server: WeaviateTestServer, tmp_path: Path) -> None:
    test_server.faults.reject_objects(
        lambda o: "invalid text property 'content': poisoned" if "POISON" in o["properties"].get("content", "") else None
    )
    root = tmp_path / "ws"
    write(root, {
        ".git/HEAD": "ref: refs/heads/main\n",
        "bad.py": "x = 1\n",
        "billing.py": "def compute_invoice_total(invoice):\n    return sum(invoice.lines)\n",
        "notes.md": lines("note", 5),
    })
    out = _run_nvim(tmp_path, test_server.url, root)
    assert out["ok"], out.get("err")
    assert out["setup"] is True
    assert out["indexed"] is True, "no LspProgress end"
    assert "indexed" in out["progress_end"]
    assert out["chunks"] >= 3
    stored = {o.properties["file_path"] for o in test_server.state.all_objects("CodeChunk")}
    assert {"billing.py", "notes.md"} <= stored
    assert out["diagnosed"] is True
    assert out["diagnostic"] == {
        "lnum": 0, "source": "acolyte", "code": "rejected",
        "message": "Not indexed: invalid text property 'content': poisoned",
    }
    assert out["searched"] is True
    assert Path(out["quickfix"][0]).name == "billing.py"


DEBIAN_NVIM = Path("/usr/bin/nvim")


def _is_neovim_0_7(binary: Path) -> bool:
    if not binary.exists():
        return False
    first = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    return first.startswith("NVIM v0.7")


@pytest.mark.skipif(not _is_neovim_0_7(DEBIAN_NVIM), reason="Debian's neovim 0.7 is not installed (run-tests.sh installs it)")
def test_setup_on_the_real_neovim_0_7_says_what_is_missing(tmp_path: Path) -> None:
    driver = r"""
local messages = {}
vim.notify = function(msg, level) table.insert(messages, msg) end
local ok = require("acolyte").setup({})
local f = io.open(vim.g.acolyte_result, "w")
f:write(vim.fn.json_encode({ setup = ok, messages = messages }))
f:close()
vim.cmd("qa!")
"""
    out = _run_nvim(tmp_path, "http://127.0.0.1:9", tmp_path, driver, binary=DEBIAN_NVIM)
    assert out["setup"] is False
    [message] = out["messages"]
    assert "needs Neovim 0.8 or newer (vim.lsp.start); this is 0.7.2" in message


def test_setup_explains_itself_on_a_neovim_without_vim_lsp_start(tmp_path: Path) -> None:
    driver = r"""
local messages = {}
vim.notify = function(msg, level) table.insert(messages, { msg = msg, level = level }) end
vim.lsp.start = nil  -- what Neovim 0.7 lacks
local ok = require("acolyte").setup({})
local f = io.open(vim.g.acolyte_result, "w")
f:write(vim.json.encode({ ok = true, setup = ok, messages = messages }))
f:close()
vim.cmd("qa!")
"""
    out = _run_nvim(tmp_path, "http://127.0.0.1:9", tmp_path, driver)
    assert out["setup"] is False
    [message] = out["messages"]
    assert "needs Neovim 0.8 or newer (vim.lsp.start)" in message["msg"]
    assert "vim.lsp.start_client" in message["msg"]
