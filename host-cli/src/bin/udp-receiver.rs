//! `udp-receiver`: drop-in replacement for udpcast's receiver.

fn main() -> std::process::ExitCode {
    udpcast_cli::receiver_app::main()
}
