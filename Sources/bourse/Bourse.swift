import ArgumentParser

@main
struct Bourse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bourse",
        abstract: "Bourse: a self-hostable stock exchange, brokerage and post-trade platform.",
        subcommands: [Bench.self, Replay.self])
}
