-- :Mira* commands for mira-ls (Neovim 0.7+), code lens refresh and the `K` hover map. They
-- talk to the running mira_ls client; start it with require("mira_ls").setup({}) (any
-- version), vim.lsp.enable("mira_ls") (0.11+) or require("lspconfig").mira_ls.setup({}).
if vim.g.loaded_mira_ls then
  return
end
vim.g.loaded_mira_ls = true

local function mira()
  return require("mira_ls")
end

local function report(err, text)
  if err then
    vim.notify("Mira: " .. err, vim.log.levels.ERROR)
  else
    vim.notify(text, vim.log.levels.INFO)
  end
end

--- Runs a command and says its result, unless the server already announced it.
local function simple(command, label)
  return function()
    local before = mira().info_count()
    mira().execute(command, vim.empty_dict(), function(err, result)
      if err or mira().info_count() == before then
        report(err, err or (label .. ": " .. mira().describe(result)))
      end
    end)
  end
end

local function chat(opts)
  local m = mira()
  local client = m.client()
  local function ask(question)
    if not question or vim.trim(question) == "" then
      return
    end
    local arg = m.cursor_args(client)
    arg.question = vim.trim(question)
    if opts.range > 0 then
      arg.range = m.line_range(opts.line1, opts.line2)
    end
    vim.notify("Mira is thinking…", vim.log.levels.INFO)
    m.execute("mira.chat", arg, function(err, result)
      if err then
        report(err)
      else
        m.on_chat_result(result)
      end
    end)
  end
  if opts.args ~= "" then
    ask(opts.args)
  else
    vim.ui.input({ prompt = "Ask Mira: " }, ask)
  end
end

local function explain()
  local m = mira()
  m.execute("mira.explain", m.cursor_args(m.client()), function(err, result)
    if err then
      report(err)
    else
      m.on_chat_result(result)
    end
  end)
end

--- The diagnostic under the cursor (else the first on its line) in LSP form.
local function diagnostic_at_cursor(bufnr)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local found = vim.diagnostic.get(bufnr, { lnum = row - 1 })
  table.sort(found, function(a, b)
    return a.severity < b.severity
  end)
  local pick = found[1]
  for _, d in ipairs(found) do
    if d.col <= col and col <= (d.end_col or d.col) then
      pick = d
      break
    end
  end
  if not pick then
    return nil
  end
  if pick.user_data and pick.user_data.lsp then
    return pick.user_data.lsp
  end
  return {
    range = {
      start = { line = pick.lnum, character = pick.col },
      ["end"] = { line = pick.end_lnum or pick.lnum, character = pick.end_col or pick.col },
    },
    severity = pick.severity,
    message = pick.message,
    source = pick.source,
    code = pick.code,
  }
end

local function fix_error()
  local m = mira()
  local bufnr = vim.api.nvim_get_current_buf()
  local diagnostic = diagnostic_at_cursor(bufnr)
  if not diagnostic then
    report("there is no diagnostic on this line; put the cursor on an error first.")
    return
  end
  m.execute("mira.fixError", { uri = vim.uri_from_bufnr(bufnr), diagnostic = diagnostic }, function(err, result)
    if err then
      report(err)
    else
      m.on_chat_result(result)
    end
  end)
end

local function budget()
  local before = mira().info_count()
  mira().execute("mira.budget", vim.empty_dict(), function(err, result)
    if err or mira().info_count() == before then
      report(err, err or mira().format_budget(result))
    end
  end)
end

local function clear_cache()
  vim.ui.select({ "Clear the cache", "Keep it" }, { prompt = "Clear Mira's answer cache?" }, function(choice)
    if choice == "Clear the cache" then
      simple("mira.clearCache", "Mira cache")()
    end
  end)
end

local function task()
  mira().execute("mira.task.list", vim.empty_dict(), function(err, result)
    report(err, err or mira().format_task(result))
  end)
end

--- :MiraSearch {words}: ranked results in the quickfix list; without words it asks (the word
--- under the cursor is the default). With a bang, commits are searched too (kind "all").
local function search(opts)
  local kind = opts.bang and "all" or nil
  local function run(query)
    if query and vim.trim(query) ~= "" then
      mira().search(vim.trim(query), { kind = kind })
    end
  end
  if opts.args ~= "" then
    run(opts.args)
  else
    vim.ui.input({ prompt = "Mira search: ", default = vim.fn.expand("<cword>") }, run)
  end
end

local command = vim.api.nvim_create_user_command
command("MiraChat", chat, { nargs = "*", range = true, desc = "Ask Mira (selected lines are sent as context)" })
command("MiraSearch", search, { nargs = "*", bang = true, desc = "Search the code with Mira (! also commits)" })
command("MiraExplain", explain, { desc = "Explain the symbol under the cursor" })
command("MiraFixError", fix_error, { desc = "Ask Mira to fix the diagnostic under the cursor" })
command("MiraBuild", simple("mira.runBuild", "Mira build"), { desc = "Run the build and check commands" })
command("MiraBudget", budget, { desc = "Show Mira's spending today and this month" })
command("MiraReview", simple("mira.reviewChanges", "Mira review"), { desc = "Review uncommitted changes" })
command("MiraReindex", simple("mira.reindex", "Mira reindex"), { desc = "Index the workspace again" })
command("MiraCacheStats", simple("mira.cacheStats", "Mira cache"), { desc = "Show answer cache statistics" })
command("MiraClearCache", clear_cache, { desc = "Empty Mira's answer cache" })
command("MiraTask", task, { desc = "Show the current task" })
command("MiraReport", simple("mira.openReport", "Mira report"), { desc = "Open Mira's report" })

-- Code lenses ("N callers", authors) are asked for on entering, saving and leaving insert
-- mode in buffers mira-ls is attached to (the plugin picks the call each version has).
local group = vim.api.nvim_create_augroup("mira_ls_plugin", { clear = true })
vim.api.nvim_create_autocmd({ "BufEnter", "BufWritePost", "InsertLeave" }, {
  group = group,
  callback = function(args)
    mira().refresh_lenses(args.buf)
  end,
})
-- 0.8+: per-buffer setup when mira-ls attaches (0.7 runs it from the config's on_attach).
if vim.fn.exists("##LspAttach") == 1 then
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = args.data and vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == mira().name then
        mira().on_attach(client, args.buf)
      end
    end,
  })
end
