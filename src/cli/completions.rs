//! `bulkspec completions SHELL` and the hidden `bulkspec man`, generated from the clap tree.

use clap::CommandFactory;

use super::{Cli, Context, Exit};

pub fn run(cx: &Context, shell: clap_complete::Shell) -> Exit {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "bulkspec", &mut buf);
    cx.out.stdout(&String::from_utf8_lossy(&buf));
    Exit::Ok
}

pub fn man(cx: &Context) -> Exit {
    let mut buf = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
        Ok(()) => {
            cx.out.stdout(&String::from_utf8_lossy(&buf));
            Exit::Ok
        }
        Err(e) => {
            cx.out
                .error(&format!("error: cannot render the man page: {e}\n"));
            Exit::Error
        }
    }
}
