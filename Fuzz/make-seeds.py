#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/ from the vectors of the XCTest suite
(Tests/HTTPTests/RequestParserTests.swift, Tests/JSONTests/*, Tests/RESPTests/RESPDecoderCorpusTests.swift).
Run once after changing a list; the output is committed. Each file is named by the hash
of its content, so re-running adds nothing twice. Regression inputs (crashes the fuzzer
found) are committed by hand as Fuzz/corpus/TARGET/regression-NAME and are never touched."""
import hashlib
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

HTTP_ACCEPTED = [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /v1/kv/ns/set/key?bins=a,b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Empty:\r\n\r\n",
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
    "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    "GET /old HTTP/1.0\r\n\r\n",
    "GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    "GET /utf8/%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Obs: caf\u00e9\r\n\r\n",
    "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nDELETE /c HTTP/1.1\r\nHost: a\r\n\r\n",
    "QUERY /v1/kv/test/users/alice HTTP/1.1\r\nHost: a\r\n\r\n",
    # The record routes, so the route stage is reached from the start.
    "PUT /v1/kv/test/users/alice?ttl=60 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    '{"bins":{"name":"Alice","age":30,"t":[]}}',
    "PATCH /v1/kv/test/users/alice HTTP/1.1\r\nHost: a\r\nIf-Match: \"1\"\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n1b\r\n{\"bins\":{\"age\":31,\"t\":null}}\r\n0\r\n\r\n",
    "POST /v1/kv/test/users/alice/operate HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
    '{"operations":[{"op":"incr","bin":"visits","value":1},{"op":"get"}]}',
    "DELETE /v1/kv/test/users/a%7Bb%7D?timeout_ms=500 HTTP/1.1\r\nHost: a\r\nIf-Match: *\r\n\r\n",
    "HEAD /v1/kv/test/users/%E2%82%AC?bins=a,b.c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
]
HTTP_REFUSED = [
    "GET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX-Fold:\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n\tb\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n",
    "GET /" + "a" * 70 + " HTTP/1.1\r\nHost: a\r\n\r\n",
    "\x16\x03\x01\x00\xa5\x01",
]

JSON = [
    '""', '"abc"', "0", "-0", "-0.0", "1.5e-7", "9007199254740993", "18446744073709551615", "1e400", "1e-400",
    "true", "false", "null", "[]", "{}", ' [ 1 , "x" , null ] ', '{"a":{}}', '{"a":[1,{"b":null}],"c":"d"}',
    r'"\"\\\/\b\f\n\r\t"', r'"\u0000"', r'"\u0041\u00e9\u00E9"', r'"\ud83d\ude00"', r'"\uDBFF\uDFFF"', r'"\ud800"',
    '{"é":1,"e\u0301":2}', '{"a":1,"a":2}', "[1,]", "[1 2]", "{\"a\"}", "[" * 70 + "]" * 70, "01", "+1", "NaN",
    '{"bins":{"name":"Alice","age":30,"tags":["a"]}}',
    '{"operations":[{"op":"incr","bin":"visits","value":1},{"op":"set_add","bin":"friends","value":"jd"},{"op":"get"}]}',
]

RESP = [
    "+OK\r\n", "-ERR unknown command 'FOO'\r\n", ":-9223372036854775808\r\n", ":9223372036854775808\r\n",
    "$3\r\nfoo\r\n", "$-1\r\n", "$0\r\n\r\n", "$4\r\n\r\n\r\n\r\n", "*-1\r\n", "*2\r\n$3\r\nfoo\r\n:42\r\n",
    "*2\r\n*1\r\n+a\r\n*0\r\n", "*1\r\n" * 32 + ":1\r\n", "*1\r\n" * 33 + ":1\r\n", "+OK\r\n:1\r\n$-1\r\n",
    "_\r\n", "#t\r\n#f\r\n", ",1.5\r\n", ",inf\r\n,-inf\r\n,nan\r\n", "(3492890328409238509324850943850943825024385\r\n",
    "=15\r\ntxt:Some string\r\n", "!21\r\nSYNTAX invalid syntax\r\n", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
    "~2\r\n:1\r\n:2\r\n", ">2\r\n+message\r\n+x\r\n", "|1\r\n+key\r\n+value\r\n+OK\r\n", "$100\r\nshort\r\n",
    "*99999999999\r\n", "+bare\nLF\r\n", "x\r\n", "$3\r\nfooXY",
]

RECORD_KEYS = [
    "test\0users\0alice\0", "test\0users\0a{b}c%25\0bins=a,b", "ns\0set\0\u20ac\U0001F600\0ttl=60&timeout_ms=500",
    "ns\0set\0" + "k" * 257 + "\0", "bad ns\0set\0key\0", "ns\0set\0key\x01\0", "ns\0set\0%7B%\0a=%ZZ",
    "ns\0set\0key\0a=1&a=2", "n\0s\0sg:{n/s/x}\0bins=", "%C3%A9%", "\0\0\0",
]


def write(target, data):
    directory = os.path.join(ROOT, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)


def latin(text):
    return text.encode("utf-8") if any(ord(c) > 0xFF for c in text) else text.encode("latin-1")


for index, text in enumerate(HTTP_ACCEPTED + HTTP_REFUSED):
    body = text.encode("utf-8") if "\u00e9" in text else text.encode("latin-1")
    # Byte 0: limits (index % 3) and pause after each request; byte 1: read size - 1.
    write("FuzzHTTPRequest", bytes([index % 3 | (index % 2) << 2, (index * 7) % 64]) + body)
for text in JSON:
    write("FuzzJSON", text.encode("utf-8"))
for index, text in enumerate(RESP):
    write("FuzzRESP", bytes([(index % 2) | ((index * 5) % 16) << 1]) + latin(text))
for text in RECORD_KEYS:
    write("FuzzRecordKey", text.encode("utf-8"))
