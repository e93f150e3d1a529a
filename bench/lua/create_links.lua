-- POST / with a new link each time: wrk -s create_links.lua URL -- RUN_TAG
local tag = "x"
local counter = 0

function init(args)
  tag = args[1] or tostring(os.time())
end

function request()
  counter = counter + 1
  local body = "url=https%3A%2F%2Fexample.com%2Fbench%2F" .. tag .. "%2F" .. counter
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
