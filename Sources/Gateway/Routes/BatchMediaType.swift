/// Which body a batch answers with, from the request's `Accept`: NDJSON streaming only
/// when `application/x-ndjson` is preferred strictly over JSON. A client that lists both
/// at equal quality (as generated clients do, naming every content type of the
/// operation) gets the default, ordered JSON.
enum BatchMediaType {
    static func prefersStreaming(accept: String?) -> Bool {
        guard let accept else { return false }
        var ndjson = 0.0
        var json = 0.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";")
            guard let type = parts.first?.trimmedOfSpace.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmedOfSpace.lowercased() == "q" {
                    quality = Double(pair[1].trimmedOfSpace) ?? 0
                }
            }
            switch type {
            case "application/x-ndjson": ndjson = max(ndjson, quality)
            case "application/json": json = max(json, quality)
            case "application/*", "*/*":
                ndjson = max(ndjson, quality)
                json = max(json, quality)
            default: break
            }
        }
        return ndjson > json
    }
}

extension Substring {
    fileprivate var trimmedOfSpace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
