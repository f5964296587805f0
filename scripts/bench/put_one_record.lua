-- wrk: PUT of the same 3-bin record again and again (scripts/bench/vs-webdis.sh), the
-- counterpart of Webdis's GET /HSET/w:k2/name/Alice/age/30/city/Rome on one key.
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"bins":{"name":"Alice","age":30,"city":"Rome"}}'
