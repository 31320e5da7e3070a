import ArgumentParser

/// A failure at run time (not a usage mistake): printed as `Error: …` without the usage text,
/// and the command exits with status 1 (ArgumentParser prints usage only for ValidationError).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
