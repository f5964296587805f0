-- wrk: PUT of a 3-bin record, over 10,000 keys so the store sees many records.
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"bins":{"name":"Alice","age":30,"city":"Paris"}}'
local counter = 0
request = function()
    counter = counter + 1
    return wrk.format(nil, "/v1/kv/bench/put/k" .. (counter % 10000))
end
