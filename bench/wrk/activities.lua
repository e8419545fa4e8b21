-- (c) The activities of one deal: where relatedTo = a Deal pointer, rotating over the seeded deal ids.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local paths, n = {}, 0

function init(args)
  local data = common.load(args)
  for i, id in ipairs(data.deals) do
    paths[i] = "/parse/classes/Activity?where=" .. common.urlencode('{"relatedTo":' .. common.pointer("Deal", id) .. '}')
  end
end

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
