-- (e) PUT /classes/Deal/:id: a stage change, rotating over the seeded deal ids.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local data, n = nil, 0

function init(args)
  data = common.load(args)
end

function request()
  n = n + 1
  local id = data.deals[n % #data.deals + 1]
  local stage = data.stages[n % #data.stages + 1]
  return wrk.format("PUT", "/parse/classes/Deal/" .. id, nil, '{"stage":"' .. stage .. '"}')
end
