-- lua_load.lua -- a table and string workload for Lua 5.4, run by bench/run.py under each
-- allocator.
--
-- Builds records (tables with string and number fields) from a fixed pseudo-random sequence,
-- indexes them by key in a hash table, groups them, builds strings with string.format, ..,
-- table.concat and gsub, sorts, and drops and rebuilds half the index. Lua's own allocator is a
-- thin wrapper over realloc/free, so every table, string and closure reaches malloc. Output is
-- the same under every allocator: nothing printed depends on the order of pairs().
--
-- usage: lua5.4 lua_load.lua [scale]
local scale = tonumber(arg[1] or "1")
assert(scale and scale > 0, "usage: lua5.4 lua_load.lua [scale]")
local n = math.max(1, math.floor(30000 * scale))

local state = 12345
local function rnd(m) -- a value in [0, m)
  state = (state * 1103515245 + 12345) % 2147483648
  return (state // 65536) % m
end

local syl = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qua", "ber", "dan", "fel", "gor"}
local function word()
  local parts = {}
  for i = 1, 1 + rnd(4) do parts[i] = syl[1 + rnd(#syl)] end
  return table.concat(parts)
end

local sum = 0
local function fold(s)
  for i = 1, #s, 7 do sum = (sum * 31 + s:byte(i)) % 4294967296 end
  sum = (sum * 31 + #s) % 4294967296
end

-- 1. records and an index by key
local records, index = {}, {}
for i = 1, n do
  local r = {id = i, name = word() .. "_" .. word(), score = rnd(1000), tags = {}}
  for j = 1, rnd(4) do r.tags[j] = word() end
  records[i] = r
  local list = index[r.name]
  if list == nil then
    list = {}
    index[r.name] = list
  end
  list[#list + 1] = r
end

-- 2. group by first syllable, with totals (pairs() order does not matter for sums)
local groups = {}
for _, r in ipairs(records) do
  local g = r.name:sub(1, 2)
  local e = groups[g]
  if e == nil then
    e = {count = 0, total = 0, names = {}}
    groups[g] = e
  end
  e.count = e.count + 1
  e.total = e.total + r.score
  if #e.names < 50 then e.names[#e.names + 1] = r.name end
end
local gkeys = {}
for k in pairs(groups) do gkeys[#gkeys + 1] = k end
table.sort(gkeys)
for _, k in ipairs(gkeys) do
  local e = groups[k]
  fold(string.format("%s:%d:%d:%s", k, e.count, e.total, table.concat(e.names, ",")))
end

-- 3. strings: format lines, rewrite them with gsub, join and split them again
local lines = {}
for i, r in ipairs(records) do
  local s = string.format("%06d %-20s %4d [%s]", r.id, r.name, r.score, table.concat(r.tags, " "))
  s = s:gsub("(%a)(%a*)o%f[%A]", function(a, b) return a:upper() .. b .. "O" end)
  lines[i] = s
end
local text = table.concat(lines, "\n")
local back, changed = {}, 0
for line in text:gmatch("[^\n]+") do
  back[#back + 1] = line
  if line:find("O", 1, true) then changed = changed + 1 end
end
for i = 1, #back, 101 do fold(back[i]) end

-- 4. sort the records by score, then name, then id
table.sort(records, function(a, b)
  if a.score ~= b.score then return a.score > b.score end
  if a.name ~= b.name then return a.name < b.name end
  return a.id < b.id
end)
for i = 1, math.min(#records, 200) do fold(records[i].name .. records[i].score) end

-- 5. drop every other name (in sorted order), then add names joined from pairs of them
local names = {}
for k in pairs(index) do names[#names + 1] = k end
table.sort(names)
local kept = 0
for i, k in ipairs(names) do
  if i % 2 == 1 then index[k] = nil else kept = kept + 1 end
end
for i = 2, #names - 1, 2 do
  local k = names[i] .. "+" .. names[#names + 1 - i]
  index[k] = {names[i], #names - i}
end
local keys = 0
for _ in pairs(index) do keys = keys + 1 end

print(string.format("lua records=%d groups=%d changed=%d kept=%d keys=%d checksum=%08x",
  n, #gkeys, changed, kept, keys, sum))
