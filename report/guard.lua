-- Pandoc filter run after citeproc (analysis/brief/render.py): the brief reads no file
-- but the workflow's own figures, and links go only to http(s):, doi: or an anchor.
-- Input text is escaped before it reaches the brief; this is the second line of defence,
-- so that nothing in an extraction file or the bibliography can make pandoc read a local
-- file or fetch a URL while it embeds resources.

local function own_figure(src)
  local name = src:match("^%.%./figures/([%w_.-]+)$") or src:match("^([%w_.-]+)$")
  return name ~= nil and not name:find("%.%.") and (name:match("%.svg$") or name:match("%.png$"))
end

function Image(img)
  if own_figure(img.src) then
    return nil
  end
  return pandoc.Emph({ pandoc.Str("[image not shown]") })
end

function Link(link)
  local target = link.target
  if target:match("^https?://") or target:match("^doi:") or target:match("^#") then
    return nil
  end
  return link.content
end
