import ArgumentParser

@main
struct Bourse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bourse",
        abstract: "Bourse: a self-hostable stock exchange, brokerage and post-trade platform.",
        subcommands: [Serve.self, Projections.self, Audit.self, Bench.self, Loadgen.self, FIXBench.self, PostTradeBench.self, Risk.self, RiskBench.self, Replay.self, Publish.self, Project.self, Follow.self, Repair.self, ReplayMarket.self, VenueSim.self])
}
