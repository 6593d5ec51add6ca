//! The luxc binary: parses the command line and hands over to `luxc::cli`.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::str::FromStr;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use luxc::cli;

/// luxc: a Linux container and lab engine programmed in Lua.
///
/// `luxc FILE [ARGS...]` runs a script (as `luxc run`); bare `luxc` on a
/// terminal starts the REPL, otherwise runs the script on stdin.
#[derive(Parser, Debug)]
#[command(name = "luxc", version, max_term_width = 100)]
struct Cli {
    /// Run CODE before the script (repeatable), as `lua -e` does.
    #[arg(short = 'e', value_name = "CODE", action = ArgAction::Append, global = true)]
    code: Vec<String>,

    /// More logs on stderr: -v debug, -vv trace (or set LUXC_LOG, e.g. "debug").
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a Lua script with the luxc API (FILE `-` reads the script from stdin).
    Run {
        /// Print what each `lab:up()` would create, change and remove, and
        /// change nothing (the script stops at the first call that would).
        #[arg(long)]
        plan: bool,
        /// When the script ends, however it ends (error, os.exit, Ctrl-C),
        /// take down every lab it opened.
        #[arg(long)]
        rm: bool,
        /// The script; the shorthand `luxc FILE` does the same.
        #[arg(value_name = "FILE")]
        file: OsString,
        /// Arguments for the script: `arg[1]`, … and `...` in its main chunk.
        #[arg(
            value_name = "ARGS",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        args: Vec<OsString>,
    },
    /// Interactive Lua prompt with the luxc API (completion, :help, history);
    /// `-e` chunks run first.
    Repl {
        /// Open this live lab first, as the global `lab` (`lab.a:exec{...}`).
        #[arg(long, value_name = "LAB")]
        lab: Option<String>,
    },
    /// Remove everything a lab created (from its journal, also after a crash).
    Down {
        /// Lab names.
        #[arg(value_name = "LAB", required_unless_present = "all")]
        labs: Vec<String>,
        /// Every lab that has a journal under /run/luxc.
        #[arg(long, conflicts_with = "labs")]
        all: bool,
        /// Also a lab whose journal has unreadable lines: remove what the
        /// readable lines record, skipping the others (each named).
        #[arg(long)]
        force: bool,
    },
    /// List the labs under /run/luxc: status and counts of containers
    /// (running/total), links, network namespaces and devices.
    Ls {
        /// Print the list as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Show a lab: containers (pid, status, addresses, cgroup, devices),
    /// links, namespaces, nft tables, sysctls, qdiscs. Takes no lock.
    Inspect {
        /// Lab name.
        #[arg(value_name = "LAB")]
        lab: String,
        /// Print the lab as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print what a container's init wrote (its init.log, bounded).
    Logs {
        /// Lab name.
        #[arg(value_name = "LAB")]
        lab: String,
        /// Container name.
        #[arg(value_name = "CONTAINER")]
        container: String,
        /// Only the last N lines.
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
    },
    /// Run a command in a running container of a lab that is up (-i, -t for a shell).
    // A placeholder for the listing: main() hands `exec` to cli::exec first.
    Exec {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print a lab's topology (containers, namespaces, bridges, links) as
    /// Graphviz DOT or Mermaid, from the state `lab:up()` saved.
    Graph {
        /// Lab name.
        #[arg(value_name = "LAB")]
        lab: String,
        /// Output format.
        #[arg(long, default_value = "dot", value_parser = ["dot", "mermaid"])]
        format: String,
    },
    /// PCI devices: their ids, drivers and IOMMU groups.
    Pci {
        #[command(subcommand)]
        command: PciCommand,
    },
    /// Report what this host can do for containers and labs, and what is missing.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum PciCommand {
    /// List PCI functions (lspci-like) with driver, IOMMU group, NUMA node and
    /// the network interfaces and DRM nodes that belong to them.
    Ls {
        /// Print the list as JSON (ids as hex strings, as lspci -n prints them).
        #[arg(long, conflicts_with = "tree")]
        json: bool,
        /// Nest functions behind the bridges they sit behind.
        #[arg(long)]
        tree: bool,
    },
    /// Bind a function to DRIVER (vfio-pci: with the IOMMU group checks),
    /// journaled so `luxc pci restore` or `luxc down LAB` gives it back.
    Bind {
        /// The function, `0000:01:00.0` or `01:00.0`.
        address: String,
        /// The driver: `vfio-pci`, or any registered PCI driver.
        driver: String,
        /// With vfio-pci: move every endpoint of the IOMMU group.
        #[arg(long)]
        group: bool,
        /// Bind a device the host uses (a mounted disk, the default route).
        #[arg(long)]
        force: bool,
        /// The lab whose journal records the original driver.
        #[arg(long, default_value = cli::pci_bind::DEFAULT_LAB)]
        lab: String,
    },
    /// Give a function back to the driver it had before `luxc pci bind`.
    Restore {
        /// The function.
        address: String,
        /// The lab whose journal recorded it.
        #[arg(long, default_value = cli::pci_bind::DEFAULT_LAB)]
        lab: String,
    },
    /// Check an IOMMU group through the VFIO ioctls: API version, Type1v2
    /// IOMMU, group viable, container set. Exit 0 when it is usable.
    VfioCheck {
        /// The IOMMU group number.
        group: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let original: Vec<OsString> = std::env::args_os().collect();
    if let Some(at) = cli::exec::position(&original) {
        std::process::exit(exec(&original, at));
    }
    let expanded = cli::expand(&original);
    let args = Cli::parse_from(&expanded.argv);
    init_logging(args.verbose);
    // A progress line for long `up`s and teardowns, only for a person.
    luxc::engine::progress::enable(std::io::stderr().is_terminal());
    let code = match args.command {
        Some(Command::Run { plan, rm, .. }) => cli::run::run(&cli::run::Invocation {
            argv: original,
            script: expanded.script,
            chunks: args.code,
            plan,
            rm,
        }),
        Some(Command::Repl { lab }) => cli::repl::run(&original, &args.code, lab.as_deref()),
        Some(Command::Check { .. }) if !args.code.is_empty() => {
            eprintln!("luxc: -e runs Lua code; `luxc check` takes none");
            2
        }
        Some(Command::Check { json }) => cli::check::run(json),
        Some(Command::Down { .. }) if !args.code.is_empty() => {
            eprintln!("luxc: -e runs Lua code; `luxc down` takes none");
            2
        }
        Some(Command::Down { labs, all, force }) => cli::down::run(&labs, all, force),
        Some(Command::Ls { .. }) if !args.code.is_empty() => no_code("ls"),
        Some(Command::Inspect { .. }) if !args.code.is_empty() => no_code("inspect"),
        Some(Command::Logs { .. }) if !args.code.is_empty() => no_code("logs"),
        Some(Command::Ls { json }) => cli::ls::run(json),
        Some(Command::Inspect { lab, json }) => cli::inspect::run(&lab, json),
        Some(Command::Logs {
            lab,
            container,
            tail,
        }) => cli::logs::run(&lab, &container, tail),
        // Mostly handled before clap parses (see exec below); clap gets here
        // when luxc's options were written in a way `position` does not
        // follow (`-ve CODE`): the first `exec` word is the subcommand.
        Some(Command::Exec { .. }) => {
            let at = original.iter().position(|w| w == "exec").unwrap_or(1);
            exec(&original, at)
        }
        Some(Command::Graph { .. }) if !args.code.is_empty() => {
            eprintln!("luxc: -e runs Lua code; `luxc graph` takes none");
            2
        }
        Some(Command::Graph { lab, format }) => cli::graph::run(&lab, &format),
        Some(Command::Pci { .. }) if !args.code.is_empty() => {
            eprintln!("luxc: -e runs Lua code; `luxc pci` takes none");
            2
        }
        Some(Command::Pci {
            command: PciCommand::Ls { json, tree },
        }) => cli::pci::ls(json, tree),
        Some(Command::Pci {
            command:
                PciCommand::Bind {
                    address,
                    driver,
                    group,
                    force,
                    lab,
                },
        }) => cli::pci_bind::bind(&address, &driver, group, force, &lab),
        Some(Command::Pci {
            command: PciCommand::Restore { address, lab },
        }) => cli::pci_bind::restore(&address, &lab),
        Some(Command::Pci {
            command: PciCommand::VfioCheck { group, json },
        }) => cli::pci_bind::vfio_check(&group, json),
        None if !args.code.is_empty() => cli::run::run(&cli::run::Invocation {
            argv: original,
            script: None,
            chunks: args.code,
            plan: false,
            rm: false,
        }),
        None if std::io::stdin().is_terminal() => cli::repl::run(&original, &[], None),
        None => {
            // Not a terminal: run the script on stdin, as lua(1) does.
            let mut argv = original;
            argv.push("-".into());
            let script = Some(argv.len() - 1);
            cli::run::run(&cli::run::Invocation {
                argv,
                script,
                chunks: Vec::new(),
                plan: false,
                rm: false,
            })
        }
    };
    std::process::exit(code);
}

/// `luxc [OPTIONS] exec ...`: luxc's options come before `exec`, the rest is
/// exec's (its `-e` is an environment variable, not Lua code).
fn exec(argv: &[OsString], at: usize) -> i32 {
    let help = at >= 2 && argv[at - 1] == "help";
    let head = Cli::parse_from(&argv[..if help { at - 1 } else { at }]);
    let mut words = argv[at..].to_vec();
    if help {
        words.push("--help".into());
    }
    let args = match cli::exec::parse(&words) {
        Ok(a) => a,
        Err(code) => return code,
    };
    init_logging(head.verbose + args.verbose);
    if !head.code.is_empty() {
        eprintln!(
            "luxc: -e runs Lua code; `luxc exec` takes none (its -e KEY=VAL goes after `exec`)"
        );
        return cli::exec::FAILED;
    }
    cli::exec::run(&args)
}

/// `-e` given to a subcommand that runs no Lua: a usage error.
fn no_code(command: &str) -> i32 {
    eprintln!("luxc: -e runs Lua code; `luxc {command}` takes none");
    2
}

/// Logs go to stderr: warnings from luxc, and script messages from info up
/// (`luxc.log.info`); -v and -vv widen that, LUXC_LOG replaces it.
fn init_logging(verbose: u8) {
    let spec = match (std::env::var("LUXC_LOG"), verbose) {
        (Ok(s), _) if !s.is_empty() => s,
        (_, 0) => "warn,lua=info".to_string(),
        (_, 1) => "debug".to_string(),
        _ => "trace".to_string(),
    };
    let filter = Targets::from_str(&spec).unwrap_or_else(|e| {
        eprintln!("luxc: LUXC_LOG: {e}; using warn");
        Targets::new().with_default(tracing::Level::WARN)
    });
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time();
    tracing_subscriber::registry().with(fmt).with(filter).init();
}
