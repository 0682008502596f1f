-- Registration for nvim-lspconfig users on Neovim 0.8-0.10 (lspconfig does not ship mira_ls):
--
--   require("mira_ls.lspconfig").register()
--   require("lspconfig").mira_ls.setup({ init_options = { mira = { budget = { dailyUsd = 2 } } } })
--
-- On Neovim 0.11+ use lsp/mira_ls.lua with vim.lsp.enable("mira_ls") instead.

local M = {}

function M.register()
  local configs = require("lspconfig.configs")
  if configs.mira_ls then
    return
  end
  local util = require("lspconfig.util")
  local file = vim.api.nvim_get_runtime_file("lsp/mira_ls.lua", false)[1]
  if not file then
    error("mira_ls: lsp/mira_ls.lua is not on 'runtimepath'; add mira-ls's editors/neovim folder to it")
  end
  local base = dofile(file)
  configs.mira_ls = {
    default_config = {
      cmd = base.cmd,
      filetypes = base.filetypes,
      root_dir = util.root_pattern(unpack(base.root_markers)),
      single_file_support = true,
      init_options = base.init_options,
      settings = base.settings,
      handlers = base.handlers,
      commands = base.commands,
    },
    docs = {
      description = "mira-ls: a programming context oracle (symbols, git history, build errors, LLM chat with a budget).",
    },
  }
end

return M
