//! `udp-sender`: drop-in replacement for udpcast's sender.

fn main() -> std::process::ExitCode {
    udpcast_cli::sender_app::main()
}
