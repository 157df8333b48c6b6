fn main() {
    std::process::exit(ruleqc::cli::main());
}
