-- Shared by the scenario scripts: loads the seeded tenant (session token, deal ids) written by
-- bench/seed.mjs; its path is the script argument (wrk ... -s scenario.lua -- DATA_FILE).
local common = {}

function common.load(args)
  local file = args[1]
  if not file then error("pass the data file: wrk ... -s script.lua -- data.lua") end
  local data = dofile(file)
  wrk.headers["X-Parse-Application-Id"] = "crm"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Parse-Session-Token"] = data.token
  return data
end

function common.urlencode(text)
  return (text:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function common.pointer(className, objectId)
  return '{"__type":"Pointer","className":"' .. className .. '","objectId":"' .. objectId .. '"}'
end

return common
