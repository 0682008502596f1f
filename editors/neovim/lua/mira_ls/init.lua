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

--- Handlers to merge into the client config.
function M.handlers()
  return { ["mira/chatChunk"] = M.on_chat_chunk, ["window/showMessage"] = on_show_message }
end

return M
