-- Headless Neovim as a real mira-ls client (0.7.2 from Debian in CI; newer versions work too).
-- Started by tests/lsp/test_neovim_e2e.py with the MIRA_E2E_* variables below; it starts the
-- server from editors/neovim/lsp/mira_ls.lua with vim.lsp.start_client, hovers a function,
-- runs a workspace command through the plugin's module and writes what it saw as JSON.
local out = { errors = {}, progress = {} }
local result_file = os.getenv("MIRA_E2E_OUT")
local has_011 = vim.fn.has("nvim-0.11") == 1

local function call(client, method, ...)
  if has_011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(out) }, result_file)
  vim.cmd("qa!")
end

local function main()
  local repo = os.getenv("MIRA_E2E_REPO")
  local file = os.getenv("MIRA_E2E_FILE")
  local line = tonumber(os.getenv("MIRA_E2E_LINE")) -- 1-based line of the function name
  local col = tonumber(os.getenv("MIRA_E2E_COL")) -- 0-based byte column

  out.nvim_version = tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch
  out.user_commands = {}
  for _, name in ipairs({ "MiraChat", "MiraExplain", "MiraBuild", "MiraBudget", "MiraTask", "MiraSearch" }) do
    out.user_commands[name] = vim.fn.exists(":" .. name) == 2
  end

  local cfg = dofile(os.getenv("MIRA_E2E_CONFIG"))
  out.config_cmd = cfg.cmd
  out.config_filetypes = cfg.filetypes
  out.config_has_chunk_handler = cfg.handlers ~= nil and cfg.handlers["mira/chatChunk"] ~= nil

  -- What the test changes: the command (this checkout's Python), the progress recorder and
  -- the lifecycle hooks. Everything else comes from editors/neovim/lsp/mira_ls.lua.
  local default_progress = vim.lsp.handlers["$/progress"]
  local exited = nil
  local overrides = {
    cmd = vim.fn.json_decode(os.getenv("MIRA_E2E_CMD")),
    init_options = { mira = { git = { enabled = true } } },
    handlers = {
      ["$/progress"] = function(err, result, ctx, config)
        if type(result) == "table" and type(result.value) == "table" then
          table.insert(out.progress, {
            token = tostring(result.token),
            kind = result.value.kind,
            title = result.value.title,
            message = result.value.message,
            at = vim.loop.now(),
          })
        end
        return default_progress(err, result, ctx, config)
      end,
    },
    on_init = function(_, result)
      out.server_name = result and result.serverInfo and result.serverInfo.name or vim.NIL
    end,
    on_exit = function(code, signal)
      exited = ("the server exited with code %s (signal %s); see the lsp.log tail"):format(code, signal)
    end,
  }
  out.lsp_log = vim.lsp.get_log_path()

  -- How users start it on every version: the plugin's setup() (0.11+: vim.lsp.config +
  -- vim.lsp.enable; 0.8-0.10: vim.lsp.start; 0.7: vim.lsp.start_client per git root).
  local mira = require("mira_ls")
  out.start_method = has_011 and "vim.lsp.enable" or (vim.lsp.start and "vim.lsp.start" or "vim.lsp.start_client")
  mira.setup(overrides)
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.wait(10000, function()
    return mira.attached(bufnr) or exited ~= nil
  end, 50)
  local client = mira.client(bufnr)
  if not client or not mira.attached(bufnr) then
    table.insert(out.errors, exited or "setup() did not attach mira_ls to the buffer")
    return
  end
  out.root_dir = client.root_dir or (client.config and client.config.root_dir)
  local client_id = client.id
  vim.wait(30000, function()
    return client.initialized == true or exited ~= nil
  end, 50)
  out.initialized = client.initialized == true
  if not out.initialized then
    table.insert(out.errors, exited or "the server did not finish initialize within 30 s")
    return
  end
  local caps = client.server_capabilities or {}
  out.commands = caps.executeCommandProvider and caps.executeCommandProvider.commands or {}
  out.hover_provider = caps.hoverProvider and true or false

  -- Background work (index, git mining) reports $/progress; wait until every token that began
  -- has ended and nothing new began for 1.5 s.
  local function quiet()
    local open, last = {}, 0
    for _, p in ipairs(out.progress) do
      if p.kind == "begin" then
        open[p.token] = true
      elseif p.kind == "end" then
        open[p.token] = nil
      end
      last = math.max(last, p.at)
    end
    return #out.progress > 0 and next(open) == nil and vim.loop.now() - last > 1500
  end
  out.settled = vim.wait(90000, quiet, 100)

  vim.api.nvim_win_set_cursor(0, { line, col })
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local want_git = os.getenv("MIRA_E2E_WANT") or ""
  local deadline = vim.loop.now() + tonumber(os.getenv("MIRA_E2E_HOVER_WAIT_MS") or "0")
  repeat
    local resp = call(client, "request_sync", "textDocument/hover", params, 10000, bufnr)
    if resp and resp.err then
      table.insert(out.errors, "hover error: " .. vim.inspect(resp.err))
    end
    local hover = resp and resp.result
    out.hover = nil
    if type(hover) == "table" and hover.contents then
      local c = hover.contents
      out.hover = type(c) == "string" and c or c.value
    end
    if out.hover and (want_git == "" or out.hover:lower():find(want_git, 1, true)) then
      break
    end
    vim.wait(250)
  until vim.loop.now() > deadline

  -- The "N callers" lens on the function: Neovim routes its command to the config's
  -- client-side mira.callers, which asks the server and fills the quickfix list.
  local lens_resp = call(client, "request_sync", "textDocument/codeLens",
    { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }, 10000, bufnr)
  out.lenses = {}
  local callers_lens = nil
  for _, lens in ipairs(lens_resp and lens_resp.result or {}) do
    if lens.command then
      table.insert(out.lenses, { line = lens.range.start.line, title = lens.command.title, command = lens.command.command })
      if lens.range.start.line == line - 1 and lens.command.command == "mira.callers" then
        callers_lens = lens
      end
    end
  end
  out.quickfix = {}
  -- The client-side command the shipped config registers (what codelens.run() calls).
  local callers_cmd = client.commands and client.commands["mira.callers"]
  out.client_has_callers_command = callers_cmd ~= nil
  if callers_lens and callers_cmd then
    vim.fn.setqflist({}, "r")
    callers_cmd(callers_lens.command, { bufnr = bufnr, client_id = client_id })
    vim.wait(10000, function()
      return #vim.fn.getqflist() > 0
    end, 50)
    for _, item in ipairs(vim.fn.getqflist()) do
      table.insert(out.quickfix, { file = vim.fn.bufname(item.bufnr), lnum = item.lnum, text = item.text })
    end
  end

  -- The plugin asks for lenses itself: after :w (BufWritePost) they are in the buffer.
  out.plugin_lenses = {}
  if vim.fn.bufwinid(bufnr) ~= -1 then
    vim.api.nvim_set_current_win(vim.fn.bufwinid(bufnr)) -- back from the quickfix window
  end
  vim.cmd("silent write")
  vim.wait(15000, function()
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr) or {}) do
      if lens.command and lens.command.title:find("caller", 1, true) then
        return true
      end
    end
    return false
  end, 100)
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr) or {}) do
    if lens.command then
      table.insert(out.plugin_lenses, { line = lens.range.start.line, title = lens.command.title })
    end
  end

  -- K: the plugin maps it to the LSP hover before 0.10 (0.10+ does so itself).
  local k = vim.fn.maparg("K", "n", false, true)
  out.k_map = { buffer = k.buffer, desc = k.desc or vim.NIL, has_callback = k.callback ~= nil, rhs = k.rhs or vim.NIL }
  out.has_show_document = mira.has_show_document

  -- Chat with the loopback model: the answer streams into mira://chat and the answer file
  -- opens (0.7: the plugin's showDocument handler, in a split).
  local question = os.getenv("MIRA_E2E_QUESTION")
  local answers_dir = os.getenv("MIRA_E2E_ANSWERS_DIR")
  if question and question ~= "" then
    local chat_arg = mira.cursor_args(client)
    chat_arg.question = question
    local chat_done = false
    mira.execute("mira.chat", chat_arg, function(err, result)
      out.chat_error = err or vim.NIL
      out.chat_file = type(result) == "table" and result.file or vim.NIL
      out.chat_id = type(result) == "table" and result.id or vim.NIL
      chat_done = true
      if not err then
        mira.on_chat_result(result)
      end
    end, bufnr)
    out.chat_answered = vim.wait(60000, function()
      return chat_done
    end, 50)
    local function answer_window()
      for _, win in ipairs(vim.api.nvim_list_wins()) do
        local name = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win))
        if name:sub(1, #answers_dir) == answers_dir and name:sub(-3) == ".md" then
          return win, name
        end
      end
    end
    vim.wait(10000, function()
      return answer_window() ~= nil
    end, 50)
    local win, name = answer_window()
    out.answer_window = name or vim.NIL
    out.windows = #vim.api.nvim_list_wins()
    if win then
      out.answer_lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
    end
    out.streamed = out.chat_id ~= vim.NIL and mira.answer(out.chat_id) or vim.NIL
  end

  -- A workspace command through the plugin's module, as :MiraBudget runs it.
  local command = vim.tbl_contains(out.commands, "mira.budget") and "mira.budget" or "mira.reindex"
  out.command = command
  local answered = false
  mira.execute(command, vim.empty_dict(), function(err, result)
    out.command_error = err or vim.NIL
    out.command_result = result == nil and vim.NIL or result
    answered = true
  end, bufnr)
  out.command_answered = vim.wait(20000, function()
    return answered
  end, 50)
  if command == "mira.budget" and out.command_result then
    out.budget_line = mira.format_budget(out.command_result)
  end

  -- The current task, as :MiraTask says it: none, then one started through the server.
  local function task_line()
    local line = nil
    mira.execute("mira.task.list", vim.empty_dict(), function(err, result)
      line = err or mira.format_task(result)
    end, bufnr)
    vim.wait(20000, function()
      return line ~= nil
    end, 50)
    return line or vim.NIL
  end
  out.task_before = task_line()
  local started = false
  mira.execute("mira.task.create", { title = "Retry uploads" }, function(_, created)
    local id = type(created) == "table" and type(created.task) == "table" and created.task.id
    mira.execute("mira.task.start", { id = id }, function()
      started = true
    end, bufnr)
  end, bufnr)
  vim.wait(20000, function()
    return started
  end, 50)
  out.task_after = task_line()

  -- :MiraSearch fills the quickfix list with the ranked results (best first) and opens it.
  local function quickfix_window()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.bo[vim.api.nvim_win_get_buf(win)].buftype == "quickfix" then
        return true
      end
    end
    return false
  end
  vim.cmd("cclose")
  vim.fn.setqflist({}, "r")
  local query = os.getenv("MIRA_E2E_SEARCH") or "total price"
  vim.cmd("MiraSearch " .. query)
  vim.wait(20000, function()
    return (vim.fn.getqflist({ title = 0 }).title or ""):find("Mira: search", 1, true) ~= nil
  end, 50)
  out.search_title = vim.fn.getqflist({ title = 0 }).title
  out.search_quickfix = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(out.search_quickfix, { file = vim.fn.bufname(item.bufnr), lnum = item.lnum, col = item.col, text = item.text })
  end
  out.search_window = quickfix_window()
  if vim.fn.bufwinid(bufnr) ~= -1 then
    vim.api.nvim_set_current_win(vim.fn.bufwinid(bufnr))
  end

  -- The quickfix column is in bytes; a result's range is in the client's encoding.
  local probe = vim.fn.tempname() .. ".py"
  vim.fn.writefile({ "é = 1; naïve = 2" }, probe)
  local uri = vim.uri_from_fname(probe)
  local function col_of(character, encoding)
    local pos = { line = 0, character = character }
    local items = mira.search_items({ results = { { symbol = "naïve", kind = "variable", via = "both", score = 0.5,
      uri = uri, range = { start = pos, ["end"] = pos } } } }, encoding)
    return items[1] and items[1].col or vim.NIL
  end
  -- "é = 1; " is 7 UTF-16 units and 8 bytes: both land on byte column 9 (1-based).
  out.search_cols = { utf16 = col_of(7, "utf-16"), utf8 = col_of(8, "utf-8") }
  out.search_git_item = mira.search_items({ results = { { symbol = "Fix rounding", collection = "git",
    commit = "0123456789abcdef", via = "keyword", score = 0.25 } } }, "utf-16")[1]

  -- The plugin refuses a command the server does not advertise, with a sentence.
  mira.execute("mira.noSuchCommand", vim.empty_dict(), function(err)
    out.unknown_command_error = err or vim.NIL
  end, bufnr)

  call(client, "stop")
  vim.wait(3000, function()
    return call(client, "is_stopped")
  end, 50)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  table.insert(out.errors, tostring(err))
end
finish()
