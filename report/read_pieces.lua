-- Run as `pandoc lua report/read_pieces.lua` by analysis/brief/pieces.py: one process reads
-- the brief's markdown pieces, each with a fresh reader with the options of the command
-- line's `--from markdown --standalone` (its abbreviations are the first message), so
-- pandoc's start-up costs are paid once per render. Protocol on stdin/stdout: the first line
-- out is pandoc's version; then per message "<bytes>\n<text>" in, "<bytes>\n<pandoc JSON>"
-- out. It reads no file and no URL.
io.stdout:write(tostring(PANDOC_VERSION), "\n")
io.stdout:flush()

local function message()
  local size = io.stdin:read("l")
  return size and (io.stdin:read(tonumber(size)) or "")
end

-- A set (abbreviation -> true): a list would give the set of its indices.
local abbreviations = {}
for line in (message() or ""):gmatch("[^\n]+") do
  abbreviations[line] = true
end
local options = { standalone = true, columns = 72, abbreviations = abbreviations }

while true do
  local text = message()
  if not text then
    break
  end
  local out = pandoc.write(pandoc.read(text, "markdown", options), "json")
  io.stdout:write(#out, "\n", out)
  io.stdout:flush()
end
