// SPDX-License-Identifier: LGPL-2.1-or-later
use super::*;

fn parse(text: &str) -> Conf {
    match Conf::parse(text, "test.conf") {
        Ok(c) => c,
        Err(e) => panic!("unexpected parse error: {e}"),
    }
}

fn syntax_error(text: &str) -> (u32, &'static str, String) {
    match Conf::parse(text, "test.conf") {
        Ok(c) => panic!("parse of {text:?} unexpectedly succeeded: {c:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert_eq!(e.code(), ERR_CONF_SYNTAX);
            assert_eq!(e.domain(), FROM_CONF);
            match e {
                ConfError::Syntax { line, reason, .. } => (line, reason, msg),
                other => panic!("not a syntax error: {other:?}"),
            }
        }
    }
}

#[test]
fn scalar_values_and_kinds() {
    let c = parse("a = 1\nb = -5\nc = +7\nd = \"x y\"\ne = 'q\"q'\n");
    assert_eq!(c.get("a"), Some(&Value::ULong(1)));
    assert_eq!(c.get("b"), Some(&Value::Long(-5)));
    assert_eq!(c.get("c"), Some(&Value::ULong(7)));
    assert_eq!(c.get("d"), Some(&Value::String("x y".into())));
    assert_eq!(c.get("e"), Some(&Value::String("q\"q".into())));
    assert_eq!(c.get("missing"), None);
}

#[test]
fn list_over_several_lines_with_trailing_comma() {
    let c = parse("l = [\n  \"a\",\n  'b',\n]\nafter = 2\n");
    assert_eq!(
        c.get("l"),
        Some(&Value::List(vec![
            Value::String("a".into()),
            Value::String("b".into())
        ]))
    );
    assert_eq!(c.get("after"), Some(&Value::ULong(2)));
    assert_eq!(parse("e = []").get("e"), Some(&Value::List(vec![])));
    assert_eq!(parse("e = [ ]").write(), "e = [  ]\n");
}

#[test]
fn nested_lists() {
    let c = parse("tst = [ 1, 2, [ 3, 4 ], 5]");
    assert_eq!(c.write(), "tst = [ 1, 2, [ 3, 4 ], 5 ]\n");
}

#[test]
fn semicolons_separate_statements() {
    let c = parse("a = 1; b = 2;c=3");
    assert_eq!(c.get_u32("a"), Ok(Some(1)));
    assert_eq!(c.get_u32("b"), Ok(Some(2)));
    assert_eq!(c.get_u32("c"), Ok(Some(3)));
}

#[test]
fn triple_quoted_string_spans_lines_and_counts_them() {
    let c = parse("s = \"\"\"one\ntwo\"\"\"\nx = 1\n");
    assert_eq!(c.get_string("s"), Ok(Some("one\ntwo".into())));
    assert_eq!(c.write(), "s = \"\"\"one\ntwo\"\"\"\nx = 1\n");
    // The error after a multi-line string reports the right line.
    let (line, reason, _) = syntax_error("s = \"\"\"a\nb\nc\"\"\"\nx = \n");
    assert_eq!((line, reason), (4, "expecting a value"));
}

#[test]
fn first_setting_of_a_name_wins() {
    let c = parse("a = 1\na = 2\n");
    assert_eq!(c.get_u32("a"), Ok(Some(1)));
}

#[test]
fn names_follow_libvirt_rules() {
    assert_eq!(parse("a_b9 = 1").get_u32("a_b9"), Ok(Some(1)));
    assert_eq!(syntax_error("_a = 1").1, "expecting a name");
    assert_eq!(syntax_error("9a = 1").1, "expecting a name");
    // '.' ends the name in the default dialect.
    assert_eq!(syntax_error("a.b = 1").1, "expecting an assignment");
    let lxc = Conf::parse_dialect("lxc.rootfs.path = dir:/x y \n", "c", Dialect::Lxc);
    assert_eq!(
        lxc.map(|c| c.get_string("lxc.rootfs.path")),
        Ok(Ok(Some("dir:/x y ".into())))
    );
}

#[test]
fn syntax_errors_name_file_line_and_reason() {
    let (line, reason, msg) = syntax_error("a = 1\n\n# c\nb =\n");
    assert_eq!(line, 4);
    assert_eq!(reason, "expecting a value");
    assert_eq!(
        msg,
        "configuration file syntax error: test.conf:4: expecting a value"
    );
    assert_eq!(syntax_error("a = \"x\n").1, "unterminated string");
    assert_eq!(syntax_error("a = 'x").1, "unterminated string");
    assert_eq!(syntax_error("a = [1 2]").1, "expecting a separator in list");
    assert_eq!(syntax_error("a = [1, 2").1, "list is not closed with ]");
    assert_eq!(syntax_error("a = -").1, "unterminated number");
    assert_eq!(syntax_error("a = 12x").1, "expecting a separator");
    assert_eq!(syntax_error("a 1").1, "expecting an assignment");
    assert_eq!(syntax_error("a = yes").1, "expecting a value");
    // libvirt has no comments inside lists.
    assert_eq!(syntax_error("a = [ \"x\", # c\n ]").1, "expecting a value");
}

#[test]
fn empty_and_whitespace_inputs() {
    assert!(parse("").entries().is_empty());
    assert!(parse("# only\n").get("only").is_none());
    // libvirt rejects a text made only of blanks: the statement parser
    // skips them and then finds no name.
    assert_eq!(syntax_error("\n\n").1, "expecting a name");
}

#[test]
fn comments_are_kept_and_written() {
    let c = parse("# head\nmemory=128 # should be enough\n\n\n#tail");
    assert_eq!(
        c.write(),
        "# head\nmemory = 128 # should be enough\n#tail\n"
    );
}

#[test]
fn writer_picks_quotes_like_libvirt() {
    let mut c = Conf::new("x");
    c.set("a", Value::String("plain".into()));
    c.set("b", Value::String("has \"dq\"".into()));
    c.set("c", Value::String("both ' and \"".into()));
    c.set("d", Value::String("multi\nline".into()));
    c.set("a", Value::ULong(3));
    assert_eq!(
        c.write(),
        "a = 3\nb = 'has \"dq\"'\nc = \"\"\"both ' and \"\"\"\"\nd = \"\"\"multi\nline\"\"\"\n"
    );
}

#[test]
fn integers_wrap_like_libvirt() {
    let c = parse("big = 18446744073709551615\nneg = -9223372036854775808\n");
    assert_eq!(c.get_u64("big"), Ok(Some(u64::MAX)));
    assert_eq!(c.get_i64("neg"), Ok(Some(i64::MIN)));
}

#[test]
fn get_string_type_error() {
    let c = parse("s = 1\n");
    let e = c.get_string("s").unwrap_err();
    assert_eq!(e.code(), ERR_INTERNAL_ERROR);
    assert_eq!(
        e.to_string(),
        "internal error: test.conf: expected a string for 's' parameter"
    );
}

#[test]
fn get_bool_accepts_only_unsigned_zero_and_one() {
    let c = parse("t = 1\nf = 0\ntwo = 2\nneg = -0\ns = \"1\"\n");
    assert_eq!(c.get_bool("t"), Ok(Some(true)));
    assert_eq!(c.get_bool("f"), Ok(Some(false)));
    assert_eq!(c.get_bool("none"), Ok(None));
    assert_eq!(
        c.get_bool("two").unwrap_err().to_string(),
        "internal error: test.conf: value for 'two' parameter must be 0 or 1"
    );
    assert_eq!(
        c.get_bool("neg").unwrap_err().to_string(),
        "internal error: test.conf: expected a bool for 'neg' parameter"
    );
    assert!(c.get_bool("s").is_err());
}

#[test]
fn get_int_and_u32_ranges() {
    let c = parse("i = -5\nbig = 4294967296\nmax = 4294967295\nhuge = 2147483648\n");
    assert_eq!(c.get_int("i"), Ok(Some(-5)));
    assert_eq!(
        c.get_int("huge").unwrap_err().to_string(),
        "internal error: test.conf: value for 'huge' parameter must be in range -2147483648:2147483647"
    );
    assert_eq!(c.get_u32("max"), Ok(Some(u32::MAX)));
    assert_eq!(
        c.get_u32("big").unwrap_err().to_string(),
        "internal error: test.conf: value for 'big' parameter must be in range 0:4294967295"
    );
    assert_eq!(
        c.get_u32("i").unwrap_err().to_string(),
        "internal error: test.conf: expected an unsigned integer for 'i' parameter"
    );
    let s = parse("s = 'x'");
    assert_eq!(
        s.get_int("s").unwrap_err().to_string(),
        "internal error: test.conf: expected a signed integer for 's' parameter"
    );
}

#[test]
fn get_string_list_variants() {
    let c = parse("l = [\"a\", \"b\"]\ns = \"one\"\nbad = [\"a\", 1]\nn = 3\n");
    assert_eq!(
        c.get_string_list("l", false),
        Ok(Some(vec!["a".into(), "b".into()]))
    );
    assert_eq!(c.get_string_list("s", true), Ok(Some(vec!["one".into()])));
    assert_eq!(
        c.get_string_list("s", false).unwrap_err().to_string(),
        "internal error: test.conf: expected a string list for 's' parameter"
    );
    assert_eq!(
        c.get_string_list("n", true).unwrap_err().to_string(),
        "internal error: test.conf: expected a string or string list for 'n' parameter"
    );
    let e = c.get_string_list("bad", true).unwrap_err();
    assert_eq!(e.code(), ERR_CONF_SYNTAX);
    assert_eq!(
        e.to_string(),
        "configuration file syntax error: test.conf: expected a string list for 'bad' parameter"
    );
}

#[test]
fn vmx_dialect_rejects_numbers_and_ignores_case() {
    let c = Conf::parse_dialect("Foo.Bar-1:x = \"v\"\n", "x.vmx", Dialect::Vmx);
    assert_eq!(
        c.map(|c| c.get_string("foo.bar-1:X")),
        Ok(Ok(Some("v".into())))
    );
    let e = Conf::parse_dialect("a = 1", "x.vmx", Dialect::Vmx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "configuration file syntax error: x.vmx:1: numbers not allowed in VMX format"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("a = {}", "[".repeat(100_000));
    assert_eq!(syntax_error(&text).1, "lists nested too deeply");
}

#[test]
fn read_file_missing_names_the_path() {
    let e = Conf::read_file("/nonexistent/dir/x.conf").unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.code(), ERR_SYSTEM_ERROR);
    assert_eq!(
        e.to_string(),
        "Failed to open file '/nonexistent/dir/x.conf': No such file or directory"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parser_never_panics(s in "[ \\t\\n\\r#=;,\\[\\]'\"a-z0-9+\\-.]{0,64}") {
            let _ = Conf::parse(&s, "f");
            let _ = Conf::parse_dialect(&s, "f", Dialect::Lxc);
            let _ = Conf::parse_dialect(&s, "f", Dialect::Vmx);
        }

        #[test]
        fn written_output_parses_back_to_the_same_entries(s in "[ \\t\\n#=;,\\[\\]'\"a-z0-9+\\-]{0,64}") {
            if let Ok(c) = Conf::parse(&s, "f") {
                let out = c.write();
                let again = Conf::parse(&out, "f");
                prop_assert!(again.is_ok(), "rewritten text failed: {out:?}");
                if let Ok(again) = again {
                    prop_assert_eq!(again.write(), out);
                }
            }
        }
    }
}
