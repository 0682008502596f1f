-- mira-ls for Neovim 0.7 to 0.11+: put this directory on 'runtimepath' and call
-- require("mira_ls").setup({ ... }) (any version), or on 0.11+ vim.lsp.enable("mira_ls") with
-- overrides in vim.lsp.config("mira_ls", { ... }); see editors/README.md. A virtualenv's
-- server: cmd = { vim.fn.expand("~/.venvs/mira/bin/mira-ls"), "serve" }.
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
  -- 0.7: advertise window/showDocument (answer files open in a split).
  config.capabilities = mira.capabilities()
  -- 0.7 has no LspAttach event: the plugin's per-buffer setup (K, lenses) runs from here.
  if vim.fn.exists("##LspAttach") == 0 then
    config.on_attach = mira.on_attach
  end
end

return config
