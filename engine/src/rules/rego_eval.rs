//! Evaluating a Rego rule's `findings`. regorus's VM runs the rule compiled to bytecode, several
//! times faster than its interpreter (2-4x on the built-in rules); the interpreter runs the rules
//! the VM cannot take: those calling a builtin the host bounds (`rego_bounds` replaces them with
//! interpreter extensions, which the VM does not call) or `print`, and those the VM's compiler
//! refuses or that do not evaluate the empty batch as the interpreter does. Both stop an evaluation after
//! [`TIME_LIMIT`]; neither has another instruction budget.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::rvm::program::Program;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};

/// Longest evaluation of one batch.
pub(super) const TIME_LIMIT: Duration = Duration::from_secs(10);

/// regorus's timer for `limit`, checking the clock every 64 steps.
pub(super) fn timer(limit: Duration) -> ExecutionTimerConfig {
    ExecutionTimerConfig {
        limit,
        check_interval: NonZeroU32::MIN.saturating_add(63),
    }
}

/// A rule's `findings` compiled for regorus's VM, shared by its sessions.
#[derive(Clone)]
pub(super) struct Compiled {
    program: Arc<Program>,
    /// `data` (the pack's options as `data.config`).
    data: Value,
}

impl Compiled {
    /// Compiles `findings` (the rule path) of `engine`, a loaded and warmed module, and checks
    /// that the VM evaluates `input` (an empty batch) to `expected`, what the interpreter made
    /// of it. None when it does not compile or does not agree.
    pub(super) fn new(
        engine: &Engine,
        findings: &str,
        input: &Value,
        expected: &Value,
    ) -> Option<Compiled> {
        let policy = engine
            .clone()
            .compile_with_entrypoint(&findings.into())
            .ok()?;
        let program = Compiler::compile_from_policy(&policy, &[findings]).ok()?;
        let compiled = Compiled {
            program,
            data: engine.get_data(),
        };
        let mut vm = compiled.vm(TIME_LIMIT).ok()?;
        vm.set_input(input.clone());
        match vm.execute() {
            Ok(v) if &v == expected => Some(compiled),
            _ => None,
        }
    }

    /// A VM running the program, stopped after `limit`.
    fn vm(&self, limit: Duration) -> Result<RegoVM, String> {
        let mut vm = RegoVM::new();
        vm.load_program(Arc::clone(&self.program));
        vm.set_data(self.data.clone())
            .map_err(|e| format!("cannot give the rule its options: {e}"))?;
        vm.set_strict_builtin_errors(true);
        // The time limit bounds an evaluation, as it does the interpreter's: the default budget
        // (25,000 instructions) would stop an honest rule on a full batch.
        vm.set_max_instructions(usize::MAX);
        vm.set_execution_timer_config(Some(timer(limit)));
        Ok(vm)
    }
}

/// One session's evaluator.
pub(super) enum Evaluator {
    Vm(Box<RegoVM>),
    Interpreter {
        engine: Box<Engine>,
        findings: String,
    },
}

impl Evaluator {
    /// The VM when the rule is `compiled`, else `engine`'s interpreter (whose timer is set).
    pub(super) fn new(
        compiled: Option<&Compiled>,
        engine: &Engine,
        findings: &str,
        limit: Duration,
    ) -> Evaluator {
        match compiled.map(|c| c.vm(limit)) {
            Some(Ok(vm)) => Evaluator::Vm(Box::new(vm)),
            // Unreachable: the same data was given at load.
            Some(Err(_)) | None => Evaluator::Interpreter {
                engine: Box::new(engine.clone()),
                findings: findings.to_owned(),
            },
        }
    }

    /// Whether this is the VM.
    #[cfg(test)]
    pub(super) fn is_vm(&self) -> bool {
        matches!(self, Evaluator::Vm(_))
    }

    /// `findings` over `input`.
    pub(super) fn eval(&mut self, input: Value) -> Result<Value, String> {
        match self {
            Evaluator::Vm(vm) => {
                vm.set_input(input);
                vm.execute().map_err(|e| super::rego::summary(&e))
            }
            Evaluator::Interpreter { engine, findings } => {
                engine.set_input(input);
                engine
                    .eval_rule(findings.clone())
                    .map_err(|e| super::rego::summary(&e))
            }
        }
    }
}
