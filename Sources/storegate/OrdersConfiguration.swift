internal import Orders

/// The pizzeria's options, kept apart from the gateway's own.
extension Configuration {
    static var kitchenOptions: [Option] {
        [
            Option(
                flag: "--pizzeria",
                help:
                    "on: serve the pizzeria demo (/demo, /v1/menu, /v1/orders, /v1/kitchen), seed it, resume its orders",
                defaultValue: "off"
            ) { config, value throws(ConfigurationError) in
                guard value == "on" || value == "off" else { throw ConfigurationError("--pizzeria expects on or off") }
                config.kitchen.enabled = value == "on"
            },
            Option(
                flag: "--minute-ms", help: "milliseconds in one minute of the pizzeria story (scales every step)",
                defaultValue: String(KitchenSettings().minuteMs)
            ) { config, value throws(ConfigurationError) in
                guard let number = UInt64(value), (1...600_000).contains(number) else {
                    throw ConfigurationError("--minute-ms expects 1…600000")
                }
                config.kitchen.minuteMs = number
            },
            Option(
                flag: "--kitchen",
                help: "evented (a cook per step) or blocking (one cook per order through every step)",
                defaultValue: KitchenSettings().mode.rawValue
            ) { config, value throws(ConfigurationError) in
                guard let mode = KitchenSettings.Mode(rawValue: value) else {
                    throw ConfigurationError("--kitchen expects evented or blocking")
                }
                config.kitchen.mode = mode
            },
            kitchenCount("--cooks", "cooks in the kitchen", \.kitchen.cooks),
            kitchenCount("--ovens", "ovens (one order each)", \.kitchen.ovens),
            kitchenCount("--riders", "delivery riders", \.kitchen.riders),
            kitchenCount(
                "--max-event-streams", "Server-Sent Events streams open at once; more get 503",
                \.kitchen.maxEventStreams),
        ]
    }

    private static func kitchenCount(_ flag: String, _ help: String, _ path: WritableKeyPath<Configuration, Int>)
        -> Option
    {
        Option(flag: flag, help: help, defaultValue: String(Configuration()[keyPath: path])) {
            config, value throws(ConfigurationError) in
            guard let number = Int(value), (1...100_000).contains(number) else {
                throw ConfigurationError("\(flag) expects 1…100000")
            }
            config[keyPath: path] = number
        }
    }
}
