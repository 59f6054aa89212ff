-- lua_churn.lua -- an allocation workload for the lab policies as the process allocator:
-- string concatenation, table inserts and removals, tables built and dropped, in a loop.
-- Usage: lua5.4 bench/lua_churn.lua [ROUNDS [WINDOW]]   (prints a checksum to compare runs)
local rounds = tonumber(arg and arg[1]) or 200
local window = tonumber(arg and arg[2]) or 64
local keep, sum = {}, 0
for r = 1, rounds do
  local t = {}
  for i = 1, 2000 do
    local s = "k" .. i .. ":" .. string.rep("x", (i * r) % 97)
    t[#t + 1] = s
    if i % 3 == 0 then table.remove(t, 1 + (i * 7) % #t) end
  end
  local m = {}
  for i = 1, #t, 5 do m[t[i]] = {i, r, t[i] .. r} end
  keep[r % window + 1] = m -- a working set of `window` rounds' maps: old ones die
  local parts = {}
  for i = 1, 200 do parts[i] = tostring(i * r) end
  local joined = table.concat(parts, ",")
  sum = (sum + #joined + #t) % 1000000007
end
print(sum)
