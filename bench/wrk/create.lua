-- (d) POST /classes/Deal: a new deal owned by the seeded user, like the seeded ones.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local data, n = nil, 0

function init(args)
  data = common.load(args)
end

function request()
  n = n + 1
  local stage = data.stages[n % #data.stages + 1]
  local body = '{"title":"Bench deal ' .. n .. '","amount":' .. (1000 + n % 50000) .. ',"stage":"' .. stage .. '"'
    .. ',"company":' .. common.pointer("Company", data.company)
    .. ',"contact":' .. common.pointer("Contact", data.contact)
    .. ',"assignedTo":' .. common.pointer("_User", data.userId)
    .. ',"expectedCloseDate":{"__type":"Date","iso":"2026-06-' .. string.format("%02d", n % 28 + 1) .. 'T00:00:00.000Z"}'
    .. ',"ACL":{"' .. data.userId .. '":{"read":true,"write":true}}}'
  return wrk.format("POST", "/parse/classes/Deal", nil, body)
end
