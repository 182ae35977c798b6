//! `bulkspec sandbox [--listen ADDR] [--data DIR] [--strict] [--seed FILE]`: serves the four
//! emulated APIs until Ctrl-C or SIGTERM.

use super::args::SandboxArgs;
use super::{Context, Exit};
use crate::sandbox::core::SandboxConfig;
use crate::sandbox::{SandboxOptions, start, wait_for_signal};

pub fn run(cx: &Context, args: &SandboxArgs) -> Exit {
    let Some(runtime) = cx.runtime() else {
        return Exit::Error;
    };
    let opts = SandboxOptions {
        listen: args.listen,
        data_dir: args.data.as_ref().map(|d| cx.dir.join(d)),
        config: SandboxConfig {
            strict: args.strict,
            processing_time: args.processing_time,
            ..SandboxConfig::default()
        },
        seed_file: args.seed.as_ref().map(|s| cx.dir.join(s)),
    };
    let result = runtime.block_on(async {
        let sandbox = start(opts).await?;
        let url = sandbox.base_url();
        cx.out.info(&format!(
            "bulkspec sandbox listening on {url}\n  APIs: {url}/marketo {url}/eloqua {url}/dotdigital {url}/mypreferences\n  control: {url}/_sandbox/stats, /_sandbox/seed, /_sandbox/faults, /_sandbox/reset\n  point bulkspec at it with BULKSPEC_SANDBOX_URL={url}; stop with Ctrl-C"
        ));
        wait_for_signal().await?;
        sandbox.shutdown().await
    });
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            cx.out.error(&format!("error: sandbox: {e}\n"));
            Exit::Error
        }
    }
}
