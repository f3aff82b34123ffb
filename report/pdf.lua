-- Pandoc filter for the PDF only (analysis/brief/render.py; Quarto's typst format too):
-- a printable brief that typst lays out in a few hundred MB at any corpus size.
--
-- 1. A long table in a div with `pdf-keep="0 3 7"` keeps only those rows (0 = first row of
--    the body; analysis/brief/common.py picks them by the table's own ranking), and the div's
--    `pdf-note` (plain words: how many rows are left out, and that the HTML brief and the CSV
--    in the release hold them all) is put above it. The HTML brief shows every row.
-- 2. Citations are plain text, not links to the reference list: each link to a label makes
--    typst lay the page out once more (1,555 of them took 200 MB at 1,000 studies). The
--    reference list itself is unchanged.

local function keep_set(spec)
  local set = {}
  for n in spec:gmatch("%d+") do
    set[tonumber(n)] = true
  end
  return set
end

local function cap_table(tbl, set)
  for _, body in ipairs(tbl.bodies) do
    local kept = pandoc.List()
    for i, row in ipairs(body.body) do
      if set[i - 1] then
        kept:insert(row)
      end
    end
    body.body = kept
  end
  return tbl
end

function Div(div)
  local spec = div.attributes["pdf-keep"]
  if spec == nil then
    return nil
  end
  local set = keep_set(spec)
  local note = div.attributes["pdf-note"] or ""
  div.attributes["pdf-keep"] = nil
  div.attributes["pdf-note"] = nil
  div.content = div.content:walk({ Table = function(tbl) return cap_table(tbl, set) end })
  if note ~= "" then
    -- The note is Markdown written by the workflow (counts, fixed words, file names).
    div.content = pandoc.read(note, "markdown").blocks .. div.content
  end
  return div
end

function Link(link)
  if link.target:match("^#ref%-") then
    return link.content
  end
  return nil
end

-- Where this filter runs before citeproc (Quarto), citeproc writes no such links at all.
function Meta(meta)
  meta["link-citations"] = false
  return meta
end
