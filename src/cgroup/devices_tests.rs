use super::*;

use std::ffi::CString;

// ---------------------------------------------------------------------------------
// A tiny eBPF interpreter for the opcodes `program` emits, with the structural checks
// the kernel verifier makes (every instruction reachable, jumps in range, r0 set
// before exit, context read only at its three fields).
// ---------------------------------------------------------------------------------

/// Runs the program on one request; returns r0.
fn run(prog: &[BpfInsn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [dev_type | (access << 16), major, minor];
    let mut regs = [0u64; 11];
    let mut init = [false; 11];
    let mut is_ctx = [false; 11];
    init[1] = true;
    is_ctx[1] = true;
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let insn = *prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} past the end"));
        let (d, s) = (insn.dst() as usize, insn.src() as usize);
        pc += 1;
        let jump = |taken: bool, pc: &mut usize| {
            if taken {
                *pc = (*pc as i64 + i64::from(insn.off)) as usize;
            }
        };
        match insn.code {
            op::LDX_W => {
                assert!(is_ctx[s], "load from r{s}, not the context");
                let field = match insn.off {
                    0 => 0,
                    4 => 1,
                    8 => 2,
                    off => panic!("context offset {off}"),
                };
                regs[d] = u64::from(ctx[field]);
                (init[d], is_ctx[d]) = (true, false);
            }
            op::AND32_IMM => {
                assert!(init[d] && !is_ctx[d]);
                regs[d] = u64::from(regs[d] as u32 & insn.imm as u32);
            }
            op::RSH32_IMM => {
                assert!(init[d] && !is_ctx[d]);
                regs[d] = u64::from((regs[d] as u32) >> insn.imm);
            }
            op::MOV32_REG => {
                assert!(init[s] && !is_ctx[s]);
                regs[d] = u64::from(regs[s] as u32);
                (init[d], is_ctx[d]) = (true, false);
            }
            op::MOV64_IMM => {
                regs[d] = insn.imm as i64 as u64;
                (init[d], is_ctx[d]) = (true, false);
            }
            op::JNE_IMM => {
                assert!(init[d] && !is_ctx[d]);
                jump(regs[d] != insn.imm as i64 as u64, &mut pc);
            }
            op::JEQ_IMM => {
                assert!(init[d] && !is_ctx[d]);
                jump(regs[d] == insn.imm as i64 as u64, &mut pc);
            }
            op::EXIT => {
                assert!(init[0], "exit with r0 unset");
                return regs[0];
            }
            code => panic!("opcode {code:#04x} not expected"),
        }
    }
    panic!("program did not exit");
}

/// The verifier's structural check: every instruction reachable, no jump out of range,
/// no fall-through past the end.
fn check_cfg(prog: &[BpfInsn]) {
    assert!(!prog.is_empty() && prog.len() <= 4096);
    let mut seen = vec![false; prog.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        let insn = prog[pc];
        if insn.code == op::EXIT {
            continue;
        }
        assert!(pc + 1 < prog.len(), "falls off the end at {pc}");
        todo.push(pc + 1);
        if matches!(insn.code, op::JNE_IMM | op::JEQ_IMM) {
            let target = pc as i64 + 1 + i64::from(insn.off);
            assert!(
                (0..prog.len() as i64).contains(&target),
                "jump out of range at {pc}"
            );
            todo.push(target as usize);
        }
    }
    if let Some(pc) = seen.iter().position(|s| !s) {
        panic!("unreachable instruction {pc}: {}", prog[pc]);
    }
}

fn bits(access: &str) -> u32 {
    DeviceRule::parse_access(access).unwrap()
}

/// Compiles, checks and runs: does the list allow this request?
fn allows(rules: &[DeviceRule], kind: char, major: u32, minor: u32, access: &str) -> bool {
    let prog = program(rules);
    check_cfg(&prog);
    let dev_type = if kind == 'b' { DEV_BLOCK } else { DEV_CHAR };
    match run(&prog, dev_type, bits(access), major, minor) {
        0 => false,
        1 => true,
        other => panic!("r0 = {other}"),
    }
}

/// The semantics of the module documentation, written directly.
fn spec(rules: &[DeviceRule], kind: char, major: u32, minor: u32, access: u32) -> bool {
    for rule in rules {
        let rule_bits = bits(&rule.access);
        let device = (rule.kind == 'a' || rule.kind == kind)
            && rule.major.is_none_or(|m| m == major)
            && rule.minor.is_none_or(|m| m == minor);
        let matched = device
            && if rule.allow {
                access & !rule_bits == 0
            } else {
                access & rule_bits != 0
            };
        if matched {
            return rule.allow;
        }
    }
    false
}

/// The cgroup v1 kernel's decision for a group set up by `plan`
/// (security/device_cgroup.c: match_exception / match_exception_partial).
fn v1_decide(plan: &V1Plan, kind: char, major: u32, minor: u32, access: u32) -> bool {
    let device = |e: &DeviceRule| {
        e.kind == kind && e.major.is_none_or(|m| m == major) && e.minor.is_none_or(|m| m == minor)
    };
    if plan.default_allow {
        !plan
            .exceptions
            .iter()
            .any(|e| device(e) && access & bits(&e.access) != 0)
    } else {
        plan.exceptions
            .iter()
            .any(|e| device(e) && access & !bits(&e.access) == 0)
    }
}

// ---------------------------------------------------------------------------------
// Rules, validation, v1 lines
// ---------------------------------------------------------------------------------

#[test]
fn parse_access_bits_and_errors() {
    assert_eq!(DeviceRule::parse_access("rwm").unwrap(), 7);
    assert_eq!(
        DeviceRule::parse_access("mr").unwrap(),
        ACC_MKNOD | ACC_READ
    );
    assert_eq!(DeviceRule::parse_access("w").unwrap(), ACC_WRITE);
    let err = DeviceRule::parse_access("").unwrap_err().to_string();
    assert_eq!(
        err,
        "device access '' is empty; expected a subset of \"rwm\""
    );
    let err = DeviceRule::parse_access("rx").unwrap_err().to_string();
    assert_eq!(
        err,
        "device access 'rx' has 'x'; expected a subset of \"rwm\""
    );
}

#[test]
fn v1_lines() {
    let lines: Vec<String> = default_allowed().iter().map(DeviceRule::v1_line).collect();
    assert_eq!(
        lines,
        [
            "c 1:3 rwm",
            "c 1:5 rwm",
            "c 1:7 rwm",
            "c 1:8 rwm",
            "c 1:9 rwm",
            "c 5:0 rwm",
            "c 5:2 rwm",
            "c 136:* rwm",
            "c *:* m",
            "b *:* m"
        ]
    );
    assert_eq!(
        DeviceRule::allow('a', None, None, "rwm").v1_line(),
        "a *:* rwm"
    );
    assert_eq!(
        DeviceRule::deny('b', Some(8), Some(0), "mwr").v1_line(),
        "b 8:0 rwm"
    );
    assert_eq!(
        DeviceRule::deny('b', Some(8), Some(0), "w").to_string(),
        "deny b 8:0 w"
    );
}

#[test]
fn parse_v1_line_round_trips() {
    for line in ["c 1:3 rwm", "c 136:* rw", "b *:* m", "a *:* rwm"] {
        let rule = DeviceRule::parse_v1_line(line, true).unwrap();
        assert_eq!(rule.v1_line(), line);
    }
    assert_eq!(
        DeviceRule::parse_v1_line("a", false).unwrap(),
        DeviceRule::deny('a', None, None, "rwm")
    );
    let err = DeviceRule::parse_v1_line("x 1:3 rwm", true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parse device rule 'x 1:3 rwm': expected type a, c or b first"
    );
    assert!(DeviceRule::parse_v1_line("c 1 rwm", true).is_err());
    assert!(DeviceRule::parse_v1_line("c 1:y rwm", true).is_err());
    assert!(DeviceRule::parse_v1_line("c 1:3 rwx", true).is_err());
}

#[test]
fn validate_rejects_bad_rules() {
    validate(&default_allowed()).unwrap();
    let err = validate(&[DeviceRule::allow('x', None, None, "r")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "device rule 'allow x *:* r': type 'x' is not c, b or a"
    );
    let err = validate(&[DeviceRule::allow('c', Some(1), Some(3), "")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "device rule 'allow c 1:3 ': device access '' is empty; expected a subset of \"rwm\""
    );
    let err = validate(&[DeviceRule::allow('c', Some(4096), None, "r")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "device rule 'allow c 4096:* r': major 4096 is above 4095"
    );
    let err = validate(&[DeviceRule::deny('b', Some(8), Some(1 << 20), "r")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "device rule 'deny b 8:1048576 r': minor 1048576 is above 1048575"
    );
    validate(&[DeviceRule::allow(
        'b',
        Some(MAX_MAJOR),
        Some(MAX_MINOR),
        "r",
    )])
    .unwrap();
}

#[test]
fn rules_serialize() {
    let rule = DeviceRule::allow('c', Some(136), None, "rw");
    let json = serde_json::to_string(&rule).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"c","major":136,"minor":null,"access":"rw","allow":true}"#
    );
    assert_eq!(serde_json::from_str::<DeviceRule>(&json).unwrap(), rule);
}

// ---------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------

#[test]
fn empty_list_denies_everything() {
    let prog = program(&[]);
    let text: Vec<String> = prog.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["r0 = 0", "exit"]);
    assert_eq!(prog[0].to_u64() & 0xff, 0xb7);
    check_cfg(&prog);
    assert_eq!(run(&prog, DEV_CHAR, ACC_READ, 1, 3), 0);
}

#[test]
fn default_program_prefix_by_hand() {
    let prog = program(&default_allowed());
    let text: Vec<String> = prog.iter().map(ToString::to_string).collect();
    let expected_head = [
        "r2 = *(u32 *)(r1 +0)",
        "w2 &= 0xffff",
        "r3 = *(u32 *)(r1 +0)",
        "w3 >>= 16",
        "r4 = *(u32 *)(r1 +4)",
        "r5 = *(u32 *)(r1 +8)",
        // c 1:3 rwm
        "if r2 != 2 goto +4",
        "if r4 != 1 goto +3",
        "if r5 != 3 goto +2",
        "r0 = 1",
        "exit",
        // c 1:5 rwm
        "if r2 != 2 goto +4",
        "if r4 != 1 goto +3",
        "if r5 != 5 goto +2",
        "r0 = 1",
        "exit",
    ];
    assert_eq!(text[..expected_head.len()], expected_head);
    let expected_tail = [
        // c 136:* rwm
        "if r2 != 2 goto +3",
        "if r4 != 136 goto +2",
        "r0 = 1",
        "exit",
        // c *:* m: no access bit other than m requested
        "if r2 != 2 goto +5",
        "w1 = w3",
        "w1 &= 0x6",
        "if r1 != 0 goto +2",
        "r0 = 1",
        "exit",
        // b *:* m
        "if r2 != 1 goto +5",
        "w1 = w3",
        "w1 &= 0x6",
        "if r1 != 0 goto +2",
        "r0 = 1",
        "exit",
        // default
        "r0 = 0",
        "exit",
    ];
    assert_eq!(text[text.len() - expected_tail.len()..], expected_tail);
    assert_eq!(prog.len(), 6 + 7 * 5 + 4 + 6 + 6 + 2);
    check_cfg(&prog);
    // The raw encoding: ldxw r2, [r1+0] is 0x61, dst 2, src 1.
    assert_eq!(
        prog[0].to_u64().to_le_bytes(),
        [0x61, 0x12, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(std::mem::size_of::<BpfInsn>(), 8);
}

#[test]
fn default_decisions() {
    let rules = default_allowed();
    // /dev/null: read, write, both.
    assert!(allows(&rules, 'c', 1, 3, "r"));
    assert!(allows(&rules, 'c', 1, 3, "w"));
    assert!(allows(&rules, 'c', 1, 3, "rw"));
    // /dev/sda: no access, but mknod.
    assert!(!allows(&rules, 'b', 8, 0, "r"));
    assert!(!allows(&rules, 'b', 8, 0, "rw"));
    assert!(allows(&rules, 'b', 8, 0, "m"));
    // mknod of any char device, but no access to it.
    assert!(allows(&rules, 'c', 10, 200, "m"));
    assert!(allows(&rules, 'c', 4095, 1048575, "m"));
    assert!(!allows(&rules, 'c', 10, 200, "r"));
    assert!(!allows(&rules, 'c', 1, 11, "w"));
    // pts: any minor.
    assert!(allows(&rules, 'c', 136, 5, "rw"));
    assert!(allows(&rules, 'c', 136, 0, "r"));
    assert!(!allows(&rules, 'c', 137, 5, "r"));
    // tty and ptmx, not console.
    assert!(allows(&rules, 'c', 5, 0, "rw"));
    assert!(allows(&rules, 'c', 5, 2, "rw"));
    assert!(!allows(&rules, 'c', 5, 1, "rw"));
    // Char numbers as a block device.
    assert!(!allows(&rules, 'b', 1, 3, "r"));
}

#[test]
fn deny_before_allow_all_wins() {
    let rules = [
        DeviceRule::deny('c', Some(1), Some(3), "w"),
        DeviceRule::allow('a', None, None, "rwm"),
    ];
    assert!(!allows(&rules, 'c', 1, 3, "w"));
    // Any refused bit refuses the request.
    assert!(!allows(&rules, 'c', 1, 3, "rw"));
    assert!(allows(&rules, 'c', 1, 3, "r"));
    assert!(allows(&rules, 'c', 1, 5, "rw"));
    assert!(allows(&rules, 'b', 8, 0, "rwm"));
    // The unconditional grant ends the program: nothing after it, no default.
    let prog = program(&rules);
    assert_eq!(prog.last().unwrap().code, op::EXIT);
    assert_eq!(prog[prog.len() - 2].imm, 1);
    // Rules after it are dropped (the verifier refuses unreachable code).
    let mut more = rules.to_vec();
    more.push(DeviceRule::deny('b', None, None, "rwm"));
    assert_eq!(program(&more), prog);
    assert!(allows(&more, 'b', 8, 0, "r"));
}

#[test]
fn allow_after_deny_all_is_dead() {
    let rules = [
        DeviceRule::deny('a', None, None, "rwm"),
        DeviceRule::allow('c', Some(1), Some(3), "rwm"),
    ];
    let text: Vec<String> = program(&rules).iter().map(ToString::to_string).collect();
    assert_eq!(text[6..], ["r0 = 0", "exit"]);
    assert!(!allows(&rules, 'c', 1, 3, "r"));
}

#[test]
fn wildcard_majors_and_partial_access() {
    let rules = [
        DeviceRule::allow('c', None, Some(3), "rw"),
        DeviceRule::allow('b', Some(8), None, "r"),
    ];
    assert!(allows(&rules, 'c', 1, 3, "rw"));
    assert!(allows(&rules, 'c', 5, 3, "r"));
    assert!(!allows(&rules, 'c', 1, 4, "r"));
    assert!(!allows(&rules, 'c', 1, 3, "m"));
    assert!(!allows(&rules, 'c', 1, 3, "rm"));
    assert!(!allows(&rules, 'b', 1, 3, "r"));
    assert!(allows(&rules, 'b', 8, 0, "r"));
    assert!(allows(&rules, 'b', 8, 17, "r"));
    assert!(!allows(&rules, 'b', 8, 0, "rw"));
    assert!(!allows(&rules, 'b', 9, 0, "r"));
}

#[test]
fn invalid_rules_never_match() {
    let rules = [
        DeviceRule::allow('x', None, None, "rwm"),
        DeviceRule::allow('c', Some(1), Some(3), "rwx"),
        DeviceRule::allow('c', Some(5000), None, "rwm"),
    ];
    assert_eq!(program(&rules), program(&[]));
}

/// A small deterministic generator (xorshift) for the exhaustive comparison.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Random lists over a small universe: the program, the written-out semantics and,
/// where v1 can express the list, the v1 kernel's decisions all agree on every request.
#[test]
fn program_and_v1_plan_agree_with_the_semantics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let accesses = ["r", "w", "m", "rw", "rm", "wm", "rwm", "rwm"];
    let majors = [None, None, Some(1), Some(5), Some(8)];
    let minors = [None, None, Some(3), Some(0)];
    let (mut plans, mut deny_lists) = (0, 0);
    let lists = 3000;
    for _ in 0..lists {
        let len = rng.next() % 6;
        let mut rules: Vec<DeviceRule> = (0..len)
            .map(|_| DeviceRule {
                kind: rng.pick(&['c', 'b', 'a']),
                major: rng.pick(&majors),
                minor: rng.pick(&minors),
                access: rng.pick(&accesses).to_owned(),
                allow: rng.next() % 10 < 7,
            })
            .collect();
        // Often an allow-all somewhere, so deny-list plans get exercised too.
        if rng.next().is_multiple_of(3) {
            let at = (rng.next() % (len + 1)) as usize;
            rules.insert(at, DeviceRule::allow('a', None, None, "rwm"));
        }
        let prog = program(&rules);
        check_cfg(&prog);
        let plan = v1_plan(&rules).ok();
        if let Some(plan) = &plan {
            plans += 1;
            deny_lists += usize::from(plan.default_allow);
            // Each device once: the kernel would merge repeats.
            for (i, e) in plan.exceptions.iter().enumerate() {
                assert!(matches!(e.kind, 'c' | 'b'));
                assert!(!plan.exceptions[..i]
                    .iter()
                    .any(|o| (o.kind, o.major, o.minor) == (e.kind, e.major, e.minor)));
            }
        }
        for kind in ['c', 'b'] {
            for major in [1, 5, 8, 136, 4095] {
                for minor in [0, 3, 5, 1_048_575] {
                    for access in 1..=7 {
                        let want = spec(&rules, kind, major, minor, access);
                        let dev_type = if kind == 'b' { DEV_BLOCK } else { DEV_CHAR };
                        let got = run(&prog, dev_type, access, major, minor) == 1;
                        assert_eq!(
                            got, want,
                            "program: {rules:?} on {kind} {major}:{minor} access {access}"
                        );
                        if let Some(plan) = &plan {
                            assert_eq!(
                                v1_decide(plan, kind, major, minor, access),
                                want,
                                "v1 plan {plan:?} of {rules:?} on {kind} {major}:{minor} access {access}"
                            );
                        }
                    }
                }
            }
        }
    }
    eprintln!("{plans} of {lists} lists expressible on v1 ({deny_lists} as deny lists)");
    assert!(
        plans > lists / 2,
        "only {plans} of {lists} lists expressible on v1"
    );
    assert!(deny_lists > lists / 20, "only {deny_lists} deny lists");
}

// ---------------------------------------------------------------------------------
// v1 plans
// ---------------------------------------------------------------------------------

#[test]
fn v1_plan_of_defaults_is_an_allow_list_of_the_rules() {
    let plan = v1_plan(&default_allowed()).unwrap();
    assert!(!plan.default_allow);
    assert_eq!(plan.exceptions, default_allowed());
}

#[test]
fn v1_plan_splits_all_and_subtracts_earlier_denials() {
    let plan = v1_plan(&[
        DeviceRule::deny('c', None, None, "w"),
        DeviceRule::allow('a', Some(1), None, "rwm"),
        DeviceRule::allow('c', Some(1), Some(3), "r"),
    ])
    .unwrap();
    assert!(!plan.default_allow);
    let lines: Vec<String> = plan.exceptions.iter().map(DeviceRule::v1_line).collect();
    assert_eq!(lines, ["c 1:* rm", "b 1:* rwm", "c 1:3 r"]);
}

#[test]
fn v1_plan_deny_list_for_deny_before_allow_all() {
    let plan = v1_plan(&[
        DeviceRule::allow('c', Some(1), Some(3), "rwm"),
        DeviceRule::deny('c', Some(1), None, "rwm"),
        DeviceRule::deny('b', None, None, "w"),
        DeviceRule::allow('a', None, None, "rwm"),
        DeviceRule::deny('c', Some(5), None, "rwm"),
    ]);
    // The deny of c 1:* minus the earlier grant of 1:3 punches a hole: not on v1.
    let err = plan.unwrap_err().to_string();
    assert_eq!(
        err,
        "device rule 'allow a *:* rwm' cannot be expressed with cgroup v1 \
         devices.allow/devices.deny: the earlier rule 'deny c 1:* rwm' would punch a hole into it"
    );
    let plan = v1_plan(&[
        DeviceRule::deny('c', Some(1), None, "rwm"),
        DeviceRule::deny('b', None, None, "w"),
        DeviceRule::allow('a', None, None, "rwm"),
        DeviceRule::deny('c', Some(5), None, "rwm"),
    ])
    .unwrap();
    assert!(plan.default_allow);
    let lines: Vec<String> = plan.exceptions.iter().map(DeviceRule::v1_line).collect();
    assert_eq!(lines, ["c 1:* rwm", "b *:* w"]);
}

#[test]
fn v1_plan_refuses_merges_that_widen() {
    let err = v1_plan(&[
        DeviceRule::allow('c', Some(1), Some(3), "r"),
        DeviceRule::allow('c', Some(1), Some(3), "w"),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "device rule 'allow c 1:3 w' cannot be expressed with cgroup v1 \
         devices.allow/devices.deny: the kernel would merge it with 'allow c 1:3 r' into 'allow c 1:3 rw'"
    );
    // A grant already holding the other's bits merges harmlessly.
    let plan = v1_plan(&[
        DeviceRule::allow('c', Some(1), Some(3), "r"),
        DeviceRule::allow('c', Some(1), Some(3), "rw"),
    ])
    .unwrap();
    assert_eq!(
        plan.exceptions,
        [DeviceRule::allow('c', Some(1), Some(3), "rw")]
    );
}

#[test]
fn apply_v1_writes_reset_then_exceptions() {
    // Against a plain directory: the files and the last line written to each.
    let dir = tempfile::tempdir().unwrap();
    apply_v1(dir.path(), &default_allowed()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("devices.deny")).unwrap(),
        "a"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("devices.allow")).unwrap(),
        "b *:* m"
    );
    let missing = dir.path().join("nope");
    let err = apply_v1(&missing, &default_allowed())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "write 'a' to {}/devices.deny: ",
            missing.display()
        )),
        "{err}"
    );
    let err = apply_v1(dir.path(), &[DeviceRule::allow('q', None, None, "r")]).unwrap_err();
    assert!(matches!(err, DeviceError::Rule { .. }));
}

#[test]
fn bpf_error_message() {
    let err = DeviceError::Bpf {
        op: "BPF_PROG_LOAD",
        what: "device filter".into(),
        errno: Errno::EPERM,
        log: Some("0: (61) r2 = *(u32 *)(r1 +0)\nR1 invalid mem access\n".into()),
    };
    assert_eq!(
        err.to_string(),
        "bpf(BPF_PROG_LOAD) device filter: Operation not permitted \
         (verifier log: 0: (61) r2 = *(u32 *)(r1 +0); R1 invalid mem access)"
    );
    let err = DeviceError::Bpf {
        op: "BPF_PROG_ATTACH",
        what: "device filter to /sys/fs/cgroup/x".into(),
        errno: Errno::EINVAL,
        log: None,
    };
    assert_eq!(
        err.to_string(),
        "bpf(BPF_PROG_ATTACH) device filter to /sys/fs/cgroup/x: Invalid argument"
    );
}

// ---------------------------------------------------------------------------------
// On this host: cgroup v1 devices controller, and a BPF filter on cgroup2
// ---------------------------------------------------------------------------------

/// A cgroup directory removed on drop.
struct TempCgroup(PathBuf);

impl TempCgroup {
    fn create(parent: &str, tag: &str) -> Option<TempCgroup> {
        let parent = Path::new(parent);
        if !parent.join("cgroup.procs").exists() {
            eprintln!("skipped: no cgroup hierarchy at {}", parent.display());
            return None;
        }
        let dir = parent.join(format!("luxc-devtest-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir(&dir);
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Some(TempCgroup(dir))
    }
}

impl Drop for TempCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            match fs::remove_dir(&self.0) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        eprintln!("could not remove {}", self.0.display());
    }
}

fn root() -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("skipped: needs root");
        false
    }
}

/// What a child does after moving into a cgroup, each step with the errno it expects
/// (0: success).
enum Step {
    Open(CString, libc::c_int, i32),
    Mknod(CString, libc::mode_t, libc::dev_t, i32),
}

/// Device nodes for the probes, in a directory on a filesystem without nodev.
struct Nodes {
    _dir: tempfile::TempDir,
    /// c 1:11 (kmsg's numbers), created here as the parent.
    kmsg: CString,
    /// Paths the child creates with mknod.
    new_char: CString,
    new_block: CString,
}

fn nodes() -> Option<Nodes> {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| {
        CString::new(dir.path().join(name).into_os_string().into_encoded_bytes()).unwrap()
    };
    let kmsg = path("kmsg");
    // SAFETY: a valid C string path.
    let rc = unsafe { libc::mknod(kmsg.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 11)) };
    if rc != 0 {
        eprintln!("skipped: mknod c 1:11: {}", io::Error::last_os_error());
        return None;
    }
    // The node must open outside the group, or the probe would prove nothing.
    // SAFETY: as above.
    let fd = unsafe { libc::open(kmsg.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
    if fd < 0 {
        eprintln!(
            "skipped: opening c 1:11 outside the cgroup fails: {}",
            io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: fd was just opened.
    unsafe { libc::close(fd) };
    Some(Nodes {
        kmsg,
        new_char: path("new-char"),
        new_block: path("new-block"),
        _dir: dir,
    })
}

/// Forks a child that writes itself into `procs` (a cgroup.procs file) and runs the
/// steps; returns its exit status: 0, or 10 + 2 * step (+1 when the errno differed).
fn probe(procs: &Path, steps: &[Step]) -> i32 {
    let procs = CString::new(procs.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: the child only makes raw syscalls on memory prepared before the fork,
    // and ends with _exit.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                libc::_exit(9);
            }
            libc::close(fd);
            for (i, step) in steps.iter().enumerate() {
                let (rc, want) = match step {
                    Step::Open(path, flags, want) => {
                        let fd = libc::open(path.as_ptr(), *flags);
                        if fd >= 0 {
                            libc::close(fd);
                        }
                        (fd, *want)
                    }
                    Step::Mknod(path, mode, dev, want) => {
                        (libc::mknod(path.as_ptr(), *mode, *dev), *want)
                    }
                };
                let errno = if rc < 0 { Errno::last_raw() } else { 0 };
                if errno != want {
                    libc::_exit(10 + 2 * i as i32 + i32::from(want != 0 && errno != 0));
                }
            }
            libc::_exit(0)
        },
        nix::unistd::ForkResult::Parent { child } => {
            match nix::sys::wait::waitpid(child, None).expect("waitpid") {
                nix::sys::wait::WaitStatus::Exited(_, code) => code,
                other => panic!("probe child: {other:?}"),
            }
        }
    }
}

fn dev_null_rw() -> Step {
    Step::Open(c"/dev/null".to_owned(), libc::O_RDWR, 0)
}

#[test]
fn verifier_log_names_the_fault() {
    if !root() {
        return;
    }
    // exit with r0 never written: the verifier refuses it and says why.
    let err = load_insns(&[BpfInsn::new(op::EXIT, 0, 0, 0, 0)]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("bpf(BPF_PROG_LOAD) device filter: Permission denied (verifier log: "),
        "{text}"
    );
    assert!(text.contains("R0 !read_ok"), "{text}");
    // The real programs load.
    load_program(&default_allowed()).unwrap();
    load_program(&[]).unwrap();
}

#[test]
fn v1_host_group_enforces_defaults() {
    if !root() {
        return;
    }
    let Some(cg) = TempCgroup::create("/sys/fs/cgroup/devices", "v1") else {
        return;
    };
    let Some(nodes) = nodes() else { return };
    apply_v1(&cg.0, &default_allowed()).unwrap();
    let list = fs::read_to_string(cg.0.join("devices.list")).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines,
        [
            "c 1:3 rwm",
            "c 1:5 rwm",
            "c 1:7 rwm",
            "c 1:8 rwm",
            "c 1:9 rwm",
            "c 5:0 rwm",
            "c 5:2 rwm",
            "c 136:* rwm",
            "c *:* m",
            "b *:* m"
        ]
    );
    let status = probe(
        &cg.0.join("cgroup.procs"),
        &[
            dev_null_rw(),
            Step::Open(
                nodes.kmsg.clone(),
                libc::O_RDONLY | libc::O_NONBLOCK,
                libc::EPERM,
            ),
            Step::Mknod(
                nodes.new_char.clone(),
                libc::S_IFCHR | 0o600,
                libc::makedev(10, 200),
                0,
            ),
            Step::Mknod(
                nodes.new_block.clone(),
                libc::S_IFBLK | 0o600,
                libc::makedev(7, 0),
                0,
            ),
            Step::Open(
                nodes.new_char.clone(),
                libc::O_RDWR | libc::O_NONBLOCK,
                libc::EPERM,
            ),
            Step::Open(
                nodes.new_block.clone(),
                libc::O_RDONLY | libc::O_NONBLOCK,
                libc::EPERM,
            ),
        ],
    );
    assert_eq!(status, 0, "probe step failed (see probe())");
}

#[test]
fn v1_host_group_deny_list() {
    if !root() {
        return;
    }
    let Some(cg) = TempCgroup::create("/sys/fs/cgroup/devices", "v1deny") else {
        return;
    };
    let Some(nodes) = nodes() else { return };
    let rules = [
        DeviceRule::deny('c', Some(1), Some(11), "rw"),
        DeviceRule::allow('a', None, None, "rwm"),
    ];
    apply_v1(&cg.0, &rules).unwrap();
    // A deny-list group lists as "a *:* rwm"; its exceptions show in behaviour only.
    assert_eq!(
        fs::read_to_string(cg.0.join("devices.list")).unwrap(),
        "a *:* rwm\n"
    );
    let status = probe(
        &cg.0.join("cgroup.procs"),
        &[
            dev_null_rw(),
            Step::Open(
                nodes.kmsg.clone(),
                libc::O_RDONLY | libc::O_NONBLOCK,
                libc::EPERM,
            ),
            Step::Mknod(
                nodes.new_char.clone(),
                libc::S_IFCHR | 0o600,
                libc::makedev(1, 11),
                0,
            ),
        ],
    );
    assert_eq!(status, 0, "probe step failed (see probe())");
}

#[test]
fn v2_filter_on_this_hosts_cgroup2() {
    if !root() {
        return;
    }
    // Pure v2 hosts mount cgroup2 at /sys/fs/cgroup; hybrid ones at .../unified.
    let parent = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|p| fs::read_to_string(format!("{p}/cgroup.controllers")).is_ok());
    let Some(parent) = parent else {
        eprintln!("skipped: no cgroup2 mount");
        return;
    };
    let Some(cg) = TempCgroup::create(parent, "v2") else {
        return;
    };
    let Some(nodes) = nodes() else { return };
    let prog = match apply_v2(&cg.0, &default_allowed()) {
        Ok(prog) => prog,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    drop(prog); // the attachment keeps the program
    assert_eq!(attached_programs(&cg.0).unwrap().len(), 1);
    let procs = cg.0.join("cgroup.procs");
    let status = probe(
        &procs,
        &[
            dev_null_rw(),
            Step::Open(
                nodes.kmsg.clone(),
                libc::O_RDONLY | libc::O_NONBLOCK,
                libc::EPERM,
            ),
            Step::Mknod(
                nodes.new_char.clone(),
                libc::S_IFCHR | 0o600,
                libc::makedev(10, 200),
                0,
            ),
            Step::Open(
                nodes.new_char.clone(),
                libc::O_RDWR | libc::O_NONBLOCK,
                libc::EPERM,
            ),
        ],
    );
    assert_eq!(status, 0, "probe step failed (see probe())");

    // Applying again replaces luxc's filter: now c 1:11 may be read, /dev/null not.
    let rules = [DeviceRule::allow('c', Some(1), Some(11), "r")];
    let prog = apply_v2(&cg.0, &rules).unwrap();
    assert_eq!(attached_programs(&cg.0).unwrap().len(), 1);
    let status = probe(
        &procs,
        &[
            Step::Open(nodes.kmsg.clone(), libc::O_RDONLY | libc::O_NONBLOCK, 0),
            Step::Open(
                nodes.kmsg.clone(),
                libc::O_RDWR | libc::O_NONBLOCK,
                libc::EPERM,
            ),
            Step::Open(c"/dev/null".to_owned(), libc::O_RDONLY, libc::EPERM),
        ],
    );
    assert_eq!(status, 0, "probe step failed (see probe())");
    detach_v2(&cg.0, prog.as_fd()).unwrap();
    assert_eq!(attached_programs(&cg.0).unwrap().len(), 0);

    // Deny before allow-all.
    let rules = [
        DeviceRule::deny('c', Some(1), Some(11), "rw"),
        DeviceRule::allow('a', None, None, "rwm"),
    ];
    apply_v2(&cg.0, &rules).unwrap();
    let status = probe(
        &procs,
        &[
            dev_null_rw(),
            Step::Open(
                nodes.kmsg.clone(),
                libc::O_RDONLY | libc::O_NONBLOCK,
                libc::EPERM,
            ),
        ],
    );
    assert_eq!(status, 0, "probe step failed (see probe())");
}
