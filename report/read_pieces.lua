-- Run as `pandoc lua report/read_pieces.lua` by analysis/brief/pieces.py: one process reads
-- the brief's markdown pieces, each with a fresh reader (the options of the command line's
-- `--from markdown --standalone`), so pandoc's start-up costs are paid once per render.
-- Protocol on stdin/stdout: first line out is pandoc's version; then per request
-- "<bytes>\n<markdown>" in, "<bytes>\n<pandoc JSON>" out. It reads no file and no URL.
io.stdout:write(tostring(PANDOC_VERSION), "\n")
io.stdout:flush()
while true do
  local size = io.stdin:read("l")
  if not size then
    break
  end
  local text = io.stdin:read(tonumber(size)) or ""
  local doc = pandoc.read(text, "markdown", { standalone = true, columns = 72 })
  local out = pandoc.write(doc, "json")
  io.stdout:write(#out, "\n", out)
  io.stdout:flush()
end
