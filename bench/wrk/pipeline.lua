-- (b) The pipeline: one stage, ordered by expected close date, 50 at a time, rotating over the stages.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local paths, n = {}, 0

function init(args)
  local data = common.load(args)
  for i, stage in ipairs(data.stages) do
    paths[i] = "/parse/classes/Deal?where=" .. common.urlencode('{"stage":"' .. stage .. '"}') .. "&order=expectedCloseDate&limit=50"
  end
end

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
