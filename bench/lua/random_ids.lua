-- GET a random id from a file of ids, one a line: wrk -s random_ids.lua URL -- FILE [SUFFIX]
local ids = {}
local suffix = ""

function init(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line:match("^[^\t]+")
  end
  suffix = args[2] or ""
  math.randomseed(os.time() + tonumber(tostring(ids):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  return wrk.format("GET", "/" .. ids[math.random(#ids)] .. suffix)
end
