-- (f) POST /login with the seeded user's password (bcrypt cost 10 on both servers); each creates a session.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local body

function init(args)
  local data = common.load(args)
  wrk.headers["X-Parse-Session-Token"] = nil
  body = '{"username":"' .. data.username .. '","password":"' .. data.password .. '"}'
end

function request()
  return wrk.format("POST", "/parse/login", nil, body)
end
