//! The Lua API through the real binding: results, and bad input rejected with
//! messages that name the function, the argument and what was expected.

use luxc::lua::{runtime, RuntimeOptions};
use mlua::Lua;

fn lua() -> Lua {
    runtime(&RuntimeOptions::default()).expect("runtime")
}

/// The error message of `call`, made from a Lua line (not a tail call, so the
/// caller's position is known) and caught with pcall.
fn error_of(lua: &Lua, call: &str) -> String {
    let code = format!(
        "local ok, e = pcall(function() local _ = {call} end) assert(not ok, 'no error') return e"
    );
    lua.load(&code)
        .set_name("=t")
        .eval::<String>()
        .unwrap_or_else(|e| panic!("{call}: {e}"))
}

/// Asserts `call` fails with exactly `want` after the `t:1: ` position prefix.
fn rejects(lua: &Lua, call: &str, want: &str) {
    let got = error_of(lua, call);
    assert_eq!(got, format!("t:1: {want}"), "for {call}");
}

#[test]
fn exec_rejects_bad_arguments() {
    let l = lua();
    let f = "luxc.host.exec";
    rejects(
        &l,
        "luxc.host.exec(5)",
        &format!("{f}: argument 1: expected a list of strings, got number"),
    );
    rejects(
        &l,
        "luxc.host.exec()",
        &format!("{f}: argument 1: expected a list of strings, got nil"),
    );
    rejects(
        &l,
        "luxc.host.exec{}",
        &format!("{f}: argument 1: expected a list of strings, got an empty list"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', 3}",
        &format!("{f}: argument 1[2]: expected a string, got number"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', tmeout = 1}",
        &format!("{f}: unknown option 'tmeout' (expected one of: cgroup, clear_env, cwd, env, netns, shell, stdin, timeout)"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', [5] = 'x'}",
        &format!(
            "{f}: unknown option [5] (expected one of: cgroup, clear_env, cwd, env, netns, shell, stdin, timeout)"
        ),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', timeout = 'x'}",
        &format!("{f}: field 'timeout': expected a number of seconds, got string"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', timeout = -1}",
        &format!("{f}: field 'timeout': expected seconds > 0, got -1"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', cwd = true}",
        &format!("{f}: field 'cwd': expected a string, got boolean"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', env = 'A=1'}",
        &format!("{f}: field 'env': expected a table of strings, got string"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', env = { A = {} }}",
        &format!("{f}: field 'env.A': expected a string, got table"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', env = { 'x' }}",
        &format!("{f}: field 'env': expected string keys, got a number key"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', stdin = 1}",
        &format!("{f}: field 'stdin': expected a string, got number"),
    );
    rejects(
        &l,
        "luxc.host.exec{'ls', shell = 'yes'}",
        &format!("{f}: field 'shell': expected a boolean, got string"),
    );
    rejects(
        &l,
        "luxc.host.exec({'ls'}, {})",
        &format!("{f}: argument 2: unexpected (takes 1 argument)"),
    );
}

#[test]
fn exec_failures_carry_the_cause() {
    let l = lua();
    let got = error_of(&l, "luxc.host.exec{'/nonexistent/luxc-x'}");
    assert_eq!(
        got,
        "t:1: luxc.host.exec: exec /nonexistent/luxc-x: No such file or directory (os error 2)"
    );
    let got = error_of(&l, "luxc.host.exec{'true', cwd = '/nonexistent/luxc-dir'}");
    assert_eq!(got, "t:1: luxc.host.exec: exec true: cwd /nonexistent/luxc-dir: No such file or directory (os error 2)");
}

#[test]
fn exec_runs_commands_with_options() {
    let l = lua();
    let check = |code: &str| {
        l.load(code)
            .set_name("=t")
            .exec()
            .unwrap_or_else(|e| panic!("{code}: {e}"));
    };
    check("local r = luxc.host.exec{'sh', '-c', 'echo out; echo err >&2; exit 3'}
           assert(r.code == 3 and r.stdout == 'out\\n' and r.stderr == 'err\\n' and r.timed_out == false)
           assert(math.type(r.code) == 'integer' and r.signal == nil)");
    check(
        "local r = luxc.host.exec{'sh', '-c', 'echo $A-$HOME', env = { A = 'x' }, clear_env = true}
           assert(r.stdout == 'x-\\n', r.stdout)",
    );
    check("local r = luxc.host.exec{'pwd', cwd = '/tmp'} assert(r.stdout == '/tmp\\n')");
    check("local r = luxc.host.exec{'cat', stdin = 'a\\0b'} assert(r.stdout == 'a\\0b')");
    check(
        "local r = luxc.host.exec{'sleep', '5', timeout = 0.1}
           assert(r.timed_out and r.code == 137 and r.signal == 9)",
    );
    check(
        "local r = luxc.host.exec{'echo \"$1|$2\"', 'a b', '$HOME', shell = true}
           assert(r.stdout == 'a b|$HOME\\n', r.stdout)",
    );
    check("local r = luxc.host.exec{'echo', '$HOME;', 'x'} assert(r.stdout == '$HOME; x\\n')");
}

#[test]
fn sleep_checks_its_argument() {
    let l = lua();
    rejects(
        &l,
        "luxc.sleep('x')",
        "luxc.sleep: argument 1: expected a number of seconds, got string",
    );
    rejects(
        &l,
        "luxc.sleep()",
        "luxc.sleep: argument 1: expected a number of seconds, got nil",
    );
    rejects(
        &l,
        "luxc.sleep(-1)",
        "luxc.sleep: argument 1: expected a number of seconds >= 0, got -1",
    );
    rejects(
        &l,
        "luxc.sleep(0, 1)",
        "luxc.sleep: argument 2: unexpected (takes 1 argument)",
    );
    rejects(
        &l,
        "luxc.sleep(0/0)",
        "luxc.sleep: argument 1: expected a number of seconds, got NaN",
    );
    rejects(
        &l,
        "luxc.sleep(math.huge)",
        "luxc.sleep: argument 1: expected a number of seconds, got inf",
    );
    rejects(
        &l,
        "luxc.sleep(1e300)",
        "luxc.sleep: argument 1: expected a number of seconds below 1e15, got 1e300",
    );
    l.load("luxc.sleep(0.01)").exec().unwrap();
}

#[test]
fn json_round_trips_and_rejects() {
    let l = lua();
    let check = |code: &str| {
        l.load(code)
            .set_name("=t")
            .exec()
            .unwrap_or_else(|e| panic!("{code}: {e}"));
    };
    check(
        r#"assert(luxc.json.encode({ b = 1, a = { 1, 2.5, 'x' }, c = luxc.json.null, d = true }) ==
                   '{"a":[1,2.5,"x"],"b":1,"c":null,"d":true}')"#,
    );
    check(
        r#"local v = luxc.json.decode('{"n": 9007199254740993, "a": [1, {"x": null}], "s": "\\u00e9"}')
             assert(v.n == 9007199254740993 and math.type(v.n) == 'integer')
             assert(v.a[2].x == luxc.json.null and v.s == 'é')
             assert(luxc.json.encode(v.a) == '[1,{"x":null}]')"#,
    );
    check(r#"assert(luxc.json.encode({ a = 1 }, { pretty = true }) == '{\n  "a": 1\n}')"#);
    rejects(&l, "luxc.json.encode(print)", "luxc.json.encode: argument 1: expected a table, string, number, boolean or nil, got function");
    rejects(
        &l,
        "luxc.json.encode({}, { pretty = 1 })",
        "luxc.json.encode: field 'pretty': expected a boolean, got number",
    );
    rejects(
        &l,
        "luxc.json.encode({}, { indent = 2 })",
        "luxc.json.encode: unknown option 'indent' (expected one of: pretty)",
    );
    rejects(
        &l,
        "luxc.json.encode({}, 'pretty')",
        "luxc.json.encode: argument 2: expected an option table, got string",
    );
    rejects(
        &l,
        "luxc.json.decode(1)",
        "luxc.json.decode: argument 1: expected a string, got number",
    );
    rejects(&l, "luxc.json.decode('{')", "luxc.json.decode: argument 1: invalid JSON: EOF while parsing an object at line 1 column 1");
    let nested = error_of(&l, "luxc.json.encode({ f = print })");
    assert!(
        nested.starts_with("t:1: luxc.json.encode: argument 1: cannot encode"),
        "{nested}"
    );
}

#[test]
fn inspect_renders_nested_sorted_and_handles() {
    let l = lua();
    let got: String = l
        .load(
            r#"local h = setmetatable({}, { __tostring = function() return "<handle a>" end })
                 local t = { "first", z = 1, b = { y = "two\nlines", [10] = false }, h = h }
                 t.self = t
                 return luxc.inspect(t)"#,
        )
        .eval()
        .unwrap();
    assert_eq!(
        got,
        "{\n  \"first\",\n  b = {\n    [10] = false,\n    y = \"two\\nlines\"\n  },\n  h = <handle a>,\n  self = <cycle>,\n  z = 1\n}"
    );
    let empty: String = l.load("return luxc.inspect({})").eval().unwrap();
    assert_eq!(empty, "{}");
    rejects(
        &l,
        "luxc.inspect(1, 2)",
        "luxc.inspect: argument 2: unexpected (takes 1 argument)",
    );
}

#[test]
fn host_check_returns_the_report() {
    let l = lua();
    l.load(
        "local r = luxc.host.check()
            assert(type(r.kernel) == 'string' and #r.items > 10)
            for _, i in ipairs(r.items) do
              assert(i.status == 'OK' or i.status == 'MISSING' or i.status == 'LIMITED', i.status)
            end",
    )
    .exec()
    .unwrap();
    rejects(
        &l,
        "luxc.host.check(1)",
        "luxc.host.check: argument 1: unexpected (takes 0 arguments)",
    );
}

#[test]
fn log_accepts_any_values() {
    let l = lua();
    l.load(
        "luxc.log.info('x', 1, nil, {}) luxc.log.debug() luxc.log.warn('w') luxc.log.error('e')",
    )
    .exec()
    .unwrap();
}

#[test]
fn errors_without_a_lua_caller_have_no_position() {
    let l = lua();
    let msg: String = l
        .load("local ok, e = pcall(luxc.sleep, 'x') return e")
        .eval()
        .unwrap();
    assert_eq!(
        msg,
        "luxc.sleep: argument 1: expected a number of seconds, got string"
    );
}

#[test]
fn c_modules_are_off_and_debian_lua_paths_searched() {
    let l = lua();
    l.load(
        "assert(package.loadlib == nil and package.cpath == '' and #package.searchers == 3)
            assert(package.path:find('/usr/share/lua/5.4/?.lua', 1, true))
            local seen = {}
            for e in package.path:gmatch('[^;]+') do assert(not seen[e], e) seen[e] = true end",
    )
    .exec()
    .unwrap();
}

#[test]
fn exec_rejects_numbers_where_strings_and_durations_belong() {
    let l = lua();
    let f = "luxc.host.exec: field";
    let cases = [
        (
            "luxc.host.exec{'ls', env = { PORT = 80 }}",
            "'env.PORT': expected a string, got number",
        ),
        (
            "luxc.host.exec{'ls', timeout = 1e300}",
            "'timeout': expected a number of seconds below 1e15, got 1e300",
        ),
        (
            "luxc.host.exec{'ls', timeout = 0/0}",
            "'timeout': expected a number of seconds, got NaN",
        ),
    ];
    for (call, want) in cases {
        rejects(&l, call, &format!("{f} {want}"));
    }
}

#[test]
fn json_encode_rejects_what_json_cannot_hold() {
    let l = lua();
    let e = "luxc.json.encode: argument 1: cannot encode";
    l.load("cyc = {} cyc.a = { b = cyc }").exec().unwrap();
    let cases = [
        ("luxc.json.encode({ a = { print } })", "a function at .a[1]"),
        (
            "luxc.json.encode({ 1, a = 2 })",
            "a table mixing list items and named keys",
        ),
        (
            "luxc.json.encode({ [1] = 1, [3] = 3 })",
            "a list with holes (keys must be 1..n)",
        ),
        (
            "luxc.json.encode({ x = { 0/0 } })",
            "the number NaN (JSON has no NaN or infinity) at .x[1]",
        ),
        (
            "luxc.json.encode({ s = '\\255' })",
            "a string that is not UTF-8 at .s",
        ),
        (
            "luxc.json.encode({ [true] = 1 })",
            "a table with a boolean key",
        ),
        (
            "luxc.json.encode(cyc)",
            "a table that contains itself at .a.b",
        ),
    ];
    for (call, want) in cases {
        rejects(&l, call, &format!("{e} {want}"));
    }
}

#[test]
fn json_encode_keeps_shared_tables_and_empty_arrays() {
    let l = lua();
    l.load(
        r#"local shared = { 1 }
           assert(luxc.json.encode({ a = shared, b = shared }) == '{"a":[1],"b":[1]}')
           assert(luxc.json.encode(luxc.json.decode('{"a":[],"b":{}}')) == '{"a":[],"b":{}}')
           assert(luxc.json.encode({}) == '{}')
           assert(luxc.json.encode('x\n') == '"x\\n"')"#,
    )
    .exec()
    .unwrap();
}

#[test]
fn host_check_leaves_absent_values_nil() {
    let l = lua();
    l.load(
        "for _, i in ipairs(luxc.host.check().items) do
           assert((i.advice == nil) == (i.status == 'OK'), i.name)
         end",
    )
    .exec()
    .unwrap();
}
