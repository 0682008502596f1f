-- mira-ls helpers for Neovim 0.7 to 0.11+: run the server's workspace commands with one object
-- argument, show streamed chat answers (mira/chatChunk) in a markdown scratch buffer, and
-- format the budget. Used by plugin/mira_ls.lua (the :Mira* commands) and lsp/mira_ls.lua.

local M = {}

M.name = "mira_ls"

local has_011 = vim.fn.has("nvim-0.11") == 1

--- The mira-ls client for `bufnr` (attached to it first, else any running one).
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local clients
  if vim.lsp.get_clients then
    clients = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
    if #clients == 0 then
      clients = vim.lsp.get_clients({ name = M.name })
    end
  else
    clients = {}
    local attached = vim.lsp.buf_get_clients(bufnr)
    for _, c in pairs(attached) do
      if c.name == M.name then
        table.insert(clients, c)
      end
    end
    if #clients == 0 then
      for _, c in ipairs(vim.lsp.get_active_clients()) do
        if c.name == M.name then
          table.insert(clients, c)
        end
      end
    end
  end
  return clients[1]
end

local function advertised(client, command)
  local caps = client.server_capabilities or client.resolved_capabilities or {}
  local provider = caps.executeCommandProvider
  if type(provider) ~= "table" then
    return false
  end
  return vim.tbl_contains(provider.commands or {}, command)
end

--- Runs a server command with one object argument (every field optional).
--- on_result(err, result) is called when the server answers; err is a sentence or nil.
function M.execute(command, arg, on_result, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  on_result = on_result or function() end
  local client = M.client(bufnr)
  if not client then
    on_result("mira-ls is not running for this buffer: check :checkhealth vim.lsp and that `mira-ls` is on PATH.")
    return
  end
  if not advertised(client, command) then
    on_result(("The running mira-ls does not offer %s; update it (pip install -U from your mira-ls checkout)."):format(command))
    return
  end
  local params = { command = command, arguments = { arg or vim.empty_dict() } }
  local handler = function(err, result)
    if err then
      on_result(("%s failed: %s"):format(command, err.message or vim.inspect(err)))
    else
      on_result(nil, result)
    end
  end
  -- A plain request, not client:exec_cmd: exec_cmd would route mira.callers back to the
  -- client-side command below, which calls this function.
  if has_011 then
    client:request("workspace/executeCommand", params, handler, bufnr)
  else
    client.request("workspace/executeCommand", params, handler, bufnr)
  end
end

--- {uri, position} of the cursor in the current window, in the client's position encoding.
function M.cursor_args(client)
  local enc = client and client.offset_encoding or "utf-16"
  local p = vim.lsp.util.make_position_params(0, enc)
  return { uri = p.textDocument.uri, position = p.position }
end

--- Whole lines line1..line2 (1-based, inclusive) as an LSP range: start of line1 to start of
--- the line after line2, which needs no character conversion.
function M.line_range(line1, line2)
  return { start = { line = line1 - 1, character = 0 }, ["end"] = { line = line2, character = 0 } }
end

local function usd(x)
  if type(x) ~= "number" then
    return "?"
  end
  if x > 0 and x < 0.01 then
    return ("$%.4f"):format(x)
  end
  return ("$%.2f"):format(x)
end

--- One line for the mira.budget result {day, month, cache}.
function M.format_budget(b)
  if type(b) ~= "table" or type(b.day) ~= "table" then
    return "Mira budget: " .. vim.inspect(b)
  end
  local parts = { ("today %s of %s"):format(usd(b.day.spent_usd), usd(b.day.limit_usd)) }
  if type(b.month) == "table" then
    table.insert(parts, ("this month %s of %s"):format(usd(b.month.spent_usd), usd(b.month.limit_usd)))
  end
  if type(b.cache) == "table" and b.cache.hit_rate then
    table.insert(
      parts,
      ("cache %d%% hits, saved %s"):format(math.floor(b.cache.hit_rate * 100 + 0.5), usd(b.cache.saved_usd))
    )
  end
  return "Mira budget: " .. table.concat(parts, " · ")
end

--- One line for any other command result.
--- One line for the current task from a mira.task.list answer (what :MiraTask says).
function M.format_task(result)
  if type(result) ~= "table" then
    return "Mira: no task information"
  end
  if type(result.error) == "string" then
    return "Mira: " .. result.error
  end
  local cur = result.current
  for _, t in ipairs(type(result.tasks) == "table" and result.tasks or {}) do
    if cur ~= nil and cur ~= vim.NIL and t.id == cur then
      return string.format("Mira task %d: %s (%s)", t.id, tostring(t.title), tostring(t.status))
    end
  end
  return "Mira: no current task (mira-ls task start ID starts one)"
end

function M.describe(result)
  if result == nil or result == vim.NIL then
    return "done"
  end
  if type(result) == "string" then
    return result
  end
  if type(result) == "table" then
    for _, key in ipairs({ "message", "summary", "text" }) do
      if type(result[key]) == "string" and result[key] ~= "" then
        return result[key]
      end
    end
  end
  return vim.inspect(result, { newline = " ", indent = "" })
end

-- Streamed answers: id -> { parts = {seq = text}, done = bool, order = n }.
local answers = {}
local answer_count = 0
local chat_buf = nil

local function answer_text(a)
  local seqs = vim.tbl_keys(a.parts)
  table.sort(seqs)
  local out = {}
  for _, s in ipairs(seqs) do
    table.insert(out, a.parts[s])
  end
  return table.concat(out)
end

--- The full text received so far for chat id `id` (chunks joined in seq order).
function M.answer(id)
  local a = answers[tostring(id)]
  return a and answer_text(a) or nil
end

local function chat_buffer()
  if chat_buf and vim.api.nvim_buf_is_valid(chat_buf) then
    return chat_buf
  end
  chat_buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(chat_buf, "mira://chat")
  vim.bo[chat_buf].filetype = "markdown"
  vim.bo[chat_buf].bufhidden = "hide"
  return chat_buf
end

local function render_chat()
  local buf = chat_buffer()
  local ordered = {}
  for id, a in pairs(answers) do
    table.insert(ordered, { id = id, a = a })
  end
  table.sort(ordered, function(x, y)
    return x.a.order > y.a.order
  end)
  local lines = {}
  for i, item in ipairs(ordered) do
    if i > 1 then
      vim.list_extend(lines, { "", "---", "" })
    end
    table.insert(lines, "## Mira answer " .. item.a.order)
    table.insert(lines, "")
    vim.list_extend(lines, vim.split(answer_text(item.a), "\n", { plain = true }))
    if not item.a.done then
      vim.list_extend(lines, { "", "_… still answering_" })
    end
    for _, note in ipairs(item.a.footer or {}) do
      vim.list_extend(lines, { "", note })
    end
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  -- Set vim.g.mira_ls_chat_window = false to keep the buffer without opening a window.
  if vim.fn.bufwinnr(buf) == -1 and vim.g.mira_ls_chat_window ~= false then
    local current = vim.api.nvim_get_current_win()
    vim.cmd("botright vsplit")
    vim.api.nvim_win_set_buf(0, buf)
    vim.api.nvim_set_current_win(current)
  end
end

--- A chat command's result {id, cost, notes, file, ...}: its cost and notes go under the
--- streamed answer with the same id.
function M.on_chat_result(result)
  if type(result) ~= "table" or result.id == nil then
    return
  end
  local a = answers[tostring(result.id)]
  if not a then
    return
  end
  a.footer = {}
  for _, note in ipairs(type(result.notes) == "table" and result.notes or {}) do
    if type(note) == "string" then
      table.insert(a.footer, "> " .. note)
    end
  end
  if type(result.cost) == "string" and result.cost ~= "" then
    table.insert(a.footer, "_" .. result.cost .. "_")
  end
  if type(result.file) == "string" then
    table.insert(a.footer, "Saved to " .. result.file)
  end
  render_chat()
end

--- Handler for the server's mira/chatChunk notification {id, seq, text, done}.
function M.on_chat_chunk(_, params)
  if type(params) ~= "table" or params.id == nil or type(params.seq) ~= "number" then
    return
  end
  local key = tostring(params.id)
  local a = answers[key]
  if not a then
    answer_count = answer_count + 1
    a = { parts = {}, done = false, order = answer_count }
    answers[key] = a
  end
  if a.parts[params.seq] == nil then
    a.parts[params.seq] = type(params.text) == "string" and params.text or ""
  end
  if params.done then
    a.done = true
  end
  render_chat()
end

--- The "N callers" code lens runs mira.callers: ask the server, list the answer in quickfix.
function M.show_callers(command, ctx)
  local bufnr = ctx and ctx.bufnr or vim.api.nvim_get_current_buf()
  local arg = command.arguments and command.arguments[1] or vim.empty_dict()
  M.execute("mira.callers", arg, function(err, result)
    if err then
      vim.notify("Mira: " .. err, vim.log.levels.ERROR)
      return
    end
    local items = {}
    for _, c in ipairs(type(result) == "table" and result or {}) do
      if type(c) == "table" and type(c.uri) == "string" and type(c.range) == "table" then
        table.insert(items, {
          filename = vim.uri_to_fname(c.uri),
          lnum = c.range.start.line + 1,
          col = c.range.start.character + 1,
          text = c.name or "",
        })
      end
    end
    if #items == 0 then
      vim.notify("Mira found no callers.", vim.log.levels.INFO)
      return
    end
    vim.fn.setqflist({}, " ", { title = "Mira: callers", items = items })
    vim.cmd("copen")
  end, bufnr)
end

local function score_text(x)
  return type(x) == "number" and ("%.4g"):format(x) or "?"
end

--- Quickfix items for a mira.search answer, best first. filename, lnum and col (bytes, as
--- the quickfix list counts) come from each result's range, which is in the client's
--- `offset_encoding`; text is the symbol, its kind and why it matched (keyword, vector or
--- both) with the score. A commit (no location of its own) is listed as text.
function M.search_items(result, offset_encoding)
  local items = {}
  local results = type(result) == "table" and type(result.results) == "table" and result.results or {}
  for _, r in ipairs(results) do
    if type(r) == "table" and type(r.symbol) == "string" then
      local why = ("%s · %s"):format(type(r.via) == "string" and r.via or "?", score_text(r.score))
      local text
      if r.collection == "git" then
        local commit = type(r.commit) == "string" and r.commit:sub(1, 10) or "commit"
        text = ("%s %s · %s"):format(commit, r.symbol, why)
      else
        local kind = type(r.kind) == "string" and (" (" .. r.kind .. ")") or ""
        text = ("%s%s · %s"):format(r.symbol, kind, why)
      end
      local item = nil
      if type(r.uri) == "string" and type(r.range) == "table" and type(r.range.start) == "table" then
        local loc = { uri = r.uri, range = r.range }
        item = vim.lsp.util.locations_to_items({ loc }, offset_encoding or "utf-16")[1]
        if item then
          item = { filename = item.filename, lnum = item.lnum, col = item.col }
        end
      elseif type(r.uri) == "string" then
        item = { filename = vim.uri_to_fname(r.uri), lnum = type(r.line) == "number" and r.line or 1, col = 1 }
      end
      item = item or {}
      item.text = text
      table.insert(items, item)
    end
  end
  return items
end

--- mira.search {query, kind?, limit?} into the quickfix list, opened (what :MiraSearch runs).
--- `open = false`: the quickfix list shows the results, so the server writes no markdown file.
--- on_done(items, result), if given, is called after the list is filled (or found empty).
function M.search(query, opts, bufnr)
  opts = opts or {}
  local client = M.client(bufnr)
  local arg = { query = query, open = false, kind = opts.kind, limit = opts.limit }
  M.execute("mira.search", arg, function(err, result)
    if err then
      vim.notify("Mira: " .. err, vim.log.levels.ERROR)
      if opts.on_done then
        opts.on_done({}, nil)
      end
      return
    end
    local items = M.search_items(result, client and client.offset_encoding)
    if #items == 0 then
      local notes = type(result) == "table" and type(result.notes) == "table" and result.notes or {}
      local said = {}
      for _, n in ipairs(notes) do
        if type(n) == "string" then
          table.insert(said, n)
        end
      end
      vim.notify("Mira: " .. (#said > 0 and table.concat(said, " ") or ("nothing matches " .. query)), vim.log.levels.INFO)
    else
      vim.fn.setqflist({}, " ", { title = "Mira: search " .. query, items = items })
      vim.cmd("copen")
    end
    if opts.on_done then
      opts.on_done(items, result)
    end
  end, bufnr)
end

--- Client-side commands to merge into the client config.
function M.commands()
  return { ["mira.callers"] = M.show_callers }
end

-- Informational window/showMessage notifications seen from mira-ls: the server announces
-- some command results itself (mira.budget, mira.cacheStats), and a command that sees the
-- count change says nothing more.
local info_messages = 0

function M.info_count()
  return info_messages
end

local function on_show_message(err, result, ctx, config)
  if type(result) == "table" and type(result.type) == "number" and result.type >= 3 then
    info_messages = info_messages + 1
  end
  return vim.lsp.handlers["window/showMessage"](err, result, ctx, config)
end

-- Neovim 0.7 has no window/showDocument (0.8 added it): the server then only announces the
-- answer files and reports. Where the client lacks it, the config advertises it and this
-- handler opens the file in a split (a web page with xdg-open/open when asked externally).
M.has_show_document = vim.lsp.handlers["window/showDocument"] ~= nil

function M.show_document(_, params)
  if type(params) ~= "table" or type(params.uri) ~= "string" then
    return { success = false }
  end
  if params.external or not params.uri:match("^file:") then
    local opener = vim.fn.has("mac") == 1 and "open" or "xdg-open"
    if vim.fn.executable(opener) == 1 then
      vim.fn.jobstart({ opener, params.uri }, { detach = true })
      return { success = true }
    end
    return { success = false }
  end
  local fname = vim.uri_to_fname(params.uri)
  local current = vim.api.nvim_get_current_win()
  local bufnr = vim.fn.bufadd(fname)
  vim.fn.bufload(bufnr)
  local win = vim.fn.bufwinid(bufnr)
  if win == -1 then
    vim.cmd("belowright split")
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, bufnr)
  end
  local sel = params.selection
  if type(sel) == "table" and type(sel.start) == "table" then
    pcall(vim.api.nvim_win_set_cursor, win, { sel.start.line + 1, sel.start.character })
  end
  if params.takeFocus then
    vim.api.nvim_set_current_win(win)
  elseif vim.api.nvim_win_is_valid(current) then
    vim.api.nvim_set_current_win(current)
  end
  return { success = true }
end

--- Handlers to merge into the client config.
function M.handlers()
  local h = { ["mira/chatChunk"] = M.on_chat_chunk, ["window/showMessage"] = on_show_message }
  if not M.has_show_document then
    h["window/showDocument"] = M.show_document
  end
  return h
end

--- Client capabilities to use, or nil where Neovim's defaults are complete (0.8+).
function M.capabilities()
  if M.has_show_document then
    return nil
  end
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.window = caps.window or {}
  caps.window.showDocument = { support = true }
  return caps
end

--- Whether a mira-ls client is attached to `bufnr`.
function M.attached(bufnr)
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ bufnr = bufnr, name = M.name }) > 0
  end
  for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if c.name == M.name then
      return true
    end
  end
  return false
end

--- Asks for code lenses of `bufnr` if mira-ls is attached (0.10+ refreshes any buffer; older
--- versions only the current one). vim.g.mira_ls_codelens = false turns it off.
function M.refresh_lenses(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.g.mira_ls_codelens == false or not vim.api.nvim_buf_is_valid(bufnr) or not M.attached(bufnr) then
    return
  end
  if vim.fn.has("nvim-0.10") == 1 then
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  elseif bufnr == vim.api.nvim_get_current_buf() then
    vim.lsp.codelens.refresh()
  end
end

--- Per buffer, once mira-ls attaches: `K` shows the LSP hover where Neovim does not map it
--- (before 0.10, `K` runs 'keywordprg'; an existing mapping of K is kept; set
--- vim.g.mira_ls_map_k = false to leave K alone), and the lenses are asked for.
function M.on_attach(_, bufnr)
  if vim.g.mira_ls_map_k ~= false and vim.fn.has("nvim-0.10") == 0 then
    local existing = vim.api.nvim_buf_call(bufnr, function()
      return vim.fn.maparg("K", "n")
    end)
    if existing == "" then
      vim.keymap.set("n", "K", vim.lsp.buf.hover, { buffer = bufnr, desc = "mira-ls: hover" })
    end
  end
  vim.schedule(function()
    if vim.api.nvim_buf_is_valid(bufnr) and bufnr == vim.api.nvim_get_current_buf() then
      M.refresh_lenses(bufnr)
    end
  end)
end

local function exists(path)
  return vim.loop.fs_stat(path) ~= nil
end

--- The nearest parent directory of `fname` holding one of `markers` (.git), else its directory.
function M.root_dir(fname, markers)
  local dir = vim.fn.fnamemodify(fname, ":p:h")
  local probe = dir
  while probe and probe ~= "" do
    for _, marker in ipairs(markers or { ".git" }) do
      if exists(probe .. "/" .. marker) then
        return probe
      end
    end
    local parent = vim.fn.fnamemodify(probe, ":h")
    if parent == probe then
      break
    end
    probe = parent
  end
  return dir
end

--- The shipped config (lsp/mira_ls.lua on 'runtimepath').
function M.base_config()
  local file = vim.api.nvim_get_runtime_file("lsp/mira_ls.lua", false)[1]
  if not file then
    error("mira_ls: lsp/mira_ls.lua is not on 'runtimepath'; add mira-ls's editors/neovim folder to it")
  end
  return dofile(file)
end

local started = {} -- 0.7: root_dir -> client id

--- Starts (or reuses) the mira-ls client for `bufnr` with `cfg` (0.7-0.10; 0.11 uses vim.lsp.enable).
function M.start(cfg, bufnr)
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if fname == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local root = M.root_dir(fname, cfg.root_markers)
  local full = vim.tbl_extend("force", cfg, { name = M.name, root_dir = root })
  if vim.lsp.start then -- 0.8+: reuses a client with the same name and root
    return vim.lsp.start(full, { bufnr = bufnr })
  end
  local id = started[root]
  if not id or not vim.lsp.get_client_by_id(id) or vim.lsp.get_client_by_id(id).is_stopped() then
    id = vim.lsp.start_client(full)
    started[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- One call for every Neovim from 0.7 on: `require("mira_ls").setup({ cmd = ..., init_options
--- = ..., settings = ... })` (every field optional). 0.11+: vim.lsp.config + vim.lsp.enable;
--- 0.7-0.10: starts a client per git root for the server's filetypes.
function M.setup(opts)
  opts = opts or {}
  if has_011 then
    vim.lsp.config(M.name, opts)
    vim.lsp.enable(M.name)
    return
  end
  local cfg = vim.tbl_deep_extend("force", M.base_config(), opts)
  local group = vim.api.nvim_create_augroup("mira_ls_start", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = cfg.filetypes,
    callback = function(args)
      M.start(cfg, args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(cfg.filetypes, vim.bo[bufnr].filetype) then
      M.start(cfg, bufnr)
    end
  end
end

return M
