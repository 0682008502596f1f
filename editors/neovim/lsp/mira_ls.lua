-- mira-ls for Neovim 0.11+: put this directory on 'runtimepath' (or copy this file to
-- ~/.config/nvim/lsp/mira_ls.lua), then call vim.lsp.enable("mira_ls").
-- Override anything with vim.lsp.config("mira_ls", { ... }); see editors/README.md.
--
-- Settings go in init_options (read once at start) and settings (answered to the server's
-- workspace/configuration requests), both under the "mira" section, with the same camelCase
-- keys as the VS Code settings and MIRA_* environment variables. The OpenAI API key comes
-- from the environment Neovim runs in (MIRA_OPENAI_API_KEY or OPENAI_API_KEY), never from
-- this file.

local config = {
  cmd = { "mira-ls", "serve" },
  filetypes = {
    "python",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "rust",
    "go",
    "java",
    "c",
    "cpp",
  },
  root_markers = { ".git" },
  init_options = { mira = vim.empty_dict() },
  settings = { mira = vim.empty_dict() },
}

-- The chat chunk handler and the callers lens command live in the mira_ls module
-- (lua/mira_ls/init.lua) when it is on 'runtimepath'; without it the server's answers still
-- open as markdown files.
local ok, mira = pcall(require, "mira_ls")
if ok then
  config.handlers = mira.handlers()
  config.commands = mira.commands()
end

return config
