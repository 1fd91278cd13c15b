//! A recursive-descent parser over the query's characters. Positions in messages count characters from 0, as
//! a user reading the query would count them, not UTF-8 bytes.
//!
//! ```text
//! expr       := and ('||' and)*
//! and        := term ('&&' term)*
//! term       := '{' expr '}' | comparison
//! comparison := path op value
//! value      := '"' (char | '\"' | '\\')* '"' | bare run up to '&&', '||', '}' or the end, trimmed
//! ```

use super::{is_segment_char, Expr, Op, Path, QueryError, MAX_QUERY_LENGTH};

/// Groups nest at most this deep: recursion depth stays far below a worker thread's stack whatever the input.
const MAX_NESTING: usize = 32;

/// Two-character operators come first so that `>=` is never read as `>` followed by the value `=...`.
const OPERATORS: [(&str, Op); 7] = [
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    ("~", Op::Contains),
    (">", Op::Gt),
    ("<", Op::Lt),
];

const OPERATOR_LIST: &str = "=, !=, ~, >, <, >=, <=";

/// Parses a `query` parameter. Never panics; every error says what is wrong and where.
pub fn parse_query(input: &str) -> Result<Expr, QueryError> {
    if input.chars().count() > MAX_QUERY_LENGTH {
        return Err(QueryError::new(format!(
            "query is longer than {MAX_QUERY_LENGTH} characters"
        )));
    }
    if input.trim().is_empty() {
        return Err(QueryError::new("empty query"));
    }
    let mut parser = Parser {
        chars: input.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let expr = parser.or_expr()?;
    parser.skip_whitespace();
    match parser.peek() {
        None => Ok(expr),
        Some('}') => Err(QueryError::new(format!("unexpected '}}' {}", parser.at()))),
        Some(_) => Err(QueryError::new(format!(
            "expected '&&' or '||' {}",
            parser.at()
        ))),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn looking_at(&self, token: &str) -> bool {
        token
            .chars()
            .enumerate()
            .all(|(offset, expected)| self.chars.get(self.pos + offset) == Some(&expected))
    }

    /// Skips whitespace, then consumes `token` if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_whitespace();
        if self.looking_at(token) {
            self.pos += token.chars().count();
            true
        } else {
            false
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// Where the parser stands, for messages: "at position 4", or that plus a note when it is the end.
    fn at(&self) -> String {
        describe_position(self.pos, self.chars.len())
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut children = vec![self.and_expr()?];
        while self.eat("||") {
            children.push(self.and_expr()?);
        }
        Ok(Expr::any(children))
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut children = vec![self.term()?];
        while self.eat("&&") {
            children.push(self.term()?);
        }
        Ok(Expr::all(children))
    }

    fn term(&mut self) -> Result<Expr, QueryError> {
        self.skip_whitespace();
        if self.peek() != Some('{') {
            return self.comparison();
        }
        let open = self.pos;
        if self.depth >= MAX_NESTING {
            return Err(QueryError::new(format!(
                "groups are nested more than {MAX_NESTING} deep at position {open}"
            )));
        }
        self.pos += 1;
        self.depth += 1;
        let inner = self.or_expr()?;
        self.skip_whitespace();
        match self.peek() {
            Some('}') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            None => Err(QueryError::new(format!(
                "unclosed '{{' opened at position {open}"
            ))),
            Some(_) => Err(QueryError::new(format!(
                "expected '&&', '||' or '}}' {}",
                self.at()
            ))),
        }
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let path = self.path()?;
        self.skip_whitespace();
        let Some(op) = self.operator() else {
            return Err(QueryError::new(format!(
                "expected an operator ({OPERATOR_LIST}) after '{path}' {}",
                self.at()
            )));
        };
        let value = self.value(&path, op)?;
        Ok(Expr::Compare { path, op, value })
    }

    fn path(&mut self) -> Result<Path, QueryError> {
        let mut segments = Vec::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(c) if is_segment_char(c)) {
                self.pos += 1;
            }
            if start == self.pos {
                let after_dot = if segments.is_empty() {
                    ""
                } else {
                    " after '.'"
                };
                return Err(QueryError::new(format!(
                    "property name expected{after_dot} {}",
                    self.at()
                )));
            }
            segments.push(self.chars[start..self.pos].iter().collect());
            if self.peek() == Some('.') {
                self.pos += 1;
            } else {
                return Ok(Path(segments));
            }
        }
    }

    fn operator(&mut self) -> Option<Op> {
        let (symbol, op) = OPERATORS
            .iter()
            .find(|(symbol, _)| self.looking_at(symbol))?;
        self.pos += symbol.len();
        Some(*op)
    }

    fn value(&mut self, path: &Path, op: Op) -> Result<String, QueryError> {
        self.skip_whitespace();
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '}' || self.looking_at("&&") || self.looking_at("||") {
                break;
            }
            self.pos += 1;
        }
        let value: String = self.chars[start..self.pos].iter().collect();
        let value = value.trim_end();
        if value.is_empty() {
            return Err(QueryError::new(format!(
                "value expected after '{path}{op}' {}; write \"\" for an empty value",
                describe_position(start, self.chars.len())
            )));
        }
        Ok(value.to_owned())
    }

    fn quoted(&mut self) -> Result<String, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(QueryError::new(format!(
                        "unclosed '\"' opened at position {open}"
                    )));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(value);
                }
                Some('\\') => match self.chars.get(self.pos + 1).copied() {
                    Some(escaped @ ('"' | '\\')) => {
                        value.push(escaped);
                        self.pos += 2;
                    }
                    Some(other) => {
                        return Err(QueryError::new(format!(
                            "unknown escape '\\{other}' at position {}; inside quotes only \\\" and \\\\ \
                             are escapes",
                            self.pos
                        )));
                    }
                    None => {
                        return Err(QueryError::new(format!(
                            "unclosed '\"' opened at position {open}"
                        )));
                    }
                },
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

fn describe_position(pos: usize, len: usize) -> String {
    if pos >= len {
        format!("at position {pos} (the end of the query)")
    } else {
        format!("at position {pos}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cmp(dotted: &str, op: Op, value: &str) -> Expr {
        Expr::Compare {
            path: dotted.parse().unwrap(),
            op,
            value: value.into(),
        }
    }

    fn error(input: &str) -> String {
        parse_query(input).unwrap_err().message
    }

    #[test]
    fn each_operator() {
        for (text, op) in [
            ("a=1", Op::Eq),
            ("a!=1", Op::Ne),
            ("a~1", Op::Contains),
            ("a>1", Op::Gt),
            ("a<1", Op::Lt),
            ("a>=1", Op::Ge),
            ("a<=1", Op::Le),
        ] {
            assert_eq!(parse_query(text), Ok(cmp("a", op, "1")), "{text}");
        }
        // The longest operator wins; what follows is the value.
        assert_eq!(parse_query("a>==1"), Ok(cmp("a", Op::Ge, "=1")));
        assert_eq!(parse_query("a==1"), Ok(cmp("a", Op::Eq, "=1")));
        assert_eq!(parse_query("a~~"), Ok(cmp("a", Op::Contains, "~")));
    }

    #[test]
    fn dotted_paths() {
        assert_eq!(
            parse_query("dataConnections.status=Linked"),
            Ok(cmp("dataConnections.status", Op::Eq, "Linked"))
        );
        assert_eq!(
            parse_query("a.b_c.D9~x"),
            Ok(cmp("a.b_c.D9", Op::Contains, "x"))
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse_query("a=1||b=2&&c=3"),
            Ok(Expr::Or(vec![
                cmp("a", Op::Eq, "1"),
                Expr::And(vec![cmp("b", Op::Eq, "2"), cmp("c", Op::Eq, "3")]),
            ]))
        );
        assert_eq!(
            parse_query("a=1&&b=2||c=3"),
            Ok(Expr::Or(vec![
                Expr::And(vec![cmp("a", Op::Eq, "1"), cmp("b", Op::Eq, "2")]),
                cmp("c", Op::Eq, "3"),
            ]))
        );
    }

    #[test]
    fn braces_group_and_groups_flatten() {
        assert_eq!(
            parse_query("{a=1||b=2}&&c=3"),
            Ok(Expr::And(vec![
                Expr::Or(vec![cmp("a", Op::Eq, "1"), cmp("b", Op::Eq, "2")]),
                cmp("c", Op::Eq, "3"),
            ]))
        );
        assert_eq!(
            parse_query("a=1 && {b=2 && c=3}"),
            Ok(Expr::And(vec![
                cmp("a", Op::Eq, "1"),
                cmp("b", Op::Eq, "2"),
                cmp("c", Op::Eq, "3"),
            ]))
        );
        assert_eq!(
            parse_query("{a=1 || b=2} || c=3"),
            Ok(Expr::Or(vec![
                cmp("a", Op::Eq, "1"),
                cmp("b", Op::Eq, "2"),
                cmp("c", Op::Eq, "3"),
            ]))
        );
        assert_eq!(parse_query("{{{a=1}}}"), Ok(cmp("a", Op::Eq, "1")));
    }

    #[test]
    fn whitespace_around_tokens_is_ignored() {
        assert_eq!(
            parse_query("  { a = 1 ||\tb >= 2 }\n&& c ~ x  "),
            parse_query("{a=1||b>=2}&&c~x")
        );
    }

    #[test]
    fn bare_values_run_to_a_connective_and_are_trimmed() {
        assert_eq!(
            parse_query("name=Acme Ltd"),
            Ok(cmp("name", Op::Eq, "Acme Ltd"))
        );
        assert_eq!(parse_query("name~ac"), Ok(cmp("name", Op::Contains, "ac")));
        assert_eq!(
            parse_query("name = Tom & Jerry | Co {x \"q\" && b=1"),
            Ok(Expr::And(vec![
                cmp("name", Op::Eq, "Tom & Jerry | Co {x \"q\""),
                cmp("b", Op::Eq, "1"),
            ]))
        );
        assert_eq!(parse_query("a=é ü 日本"), Ok(cmp("a", Op::Eq, "é ü 日本")));
    }

    #[test]
    fn quoted_values() {
        assert_eq!(parse_query(r#"name="""#), Ok(cmp("name", Op::Eq, "")));
        assert_eq!(
            parse_query(r#"name=" a && b || {c} ""#),
            Ok(cmp("name", Op::Eq, " a && b || {c} "))
        );
        assert_eq!(
            parse_query(r#"name="say \"hi\" \\ bye""#),
            Ok(cmp("name", Op::Eq, r#"say "hi" \ bye"#))
        );
        assert_eq!(
            parse_query(r#"{a = "x" }&&b="y""#),
            Ok(Expr::And(vec![
                cmp("a", Op::Eq, "x"),
                cmp("b", Op::Eq, "y")
            ]))
        );
    }

    #[test]
    fn length_and_empty_errors() {
        assert_eq!(error(""), "empty query");
        assert_eq!(error(" \t "), "empty query");
        let long = format!("a={}", "x".repeat(MAX_QUERY_LENGTH));
        assert_eq!(error(&long), "query is longer than 2048 characters");
        let exactly = format!("a={}", "x".repeat(MAX_QUERY_LENGTH - 2));
        assert!(parse_query(&exactly).is_ok());
    }

    #[test]
    fn operator_errors() {
        assert_eq!(
            error("name Acme"),
            "expected an operator (=, !=, ~, >, <, >=, <=) after 'name' at position 5"
        );
        assert_eq!(
            error("a.b"),
            "expected an operator (=, !=, ~, >, <, >=, <=) after 'a.b' at position 3 (the end of the query)"
        );
        assert_eq!(
            error("a!1"),
            "expected an operator (=, !=, ~, >, <, >=, <=) after 'a' at position 1"
        );
    }

    #[test]
    fn property_name_errors() {
        assert_eq!(error("=x"), "property name expected at position 0");
        assert_eq!(
            error("a=1 && "),
            "property name expected at position 7 (the end of the query)"
        );
        assert_eq!(
            error("a.=1"),
            "property name expected after '.' at position 2"
        );
        assert_eq!(error("é=1"), "property name expected at position 0");
        assert_eq!(error("{}"), "property name expected at position 1");
        assert_eq!(
            error("a=1 || || b=2"),
            "property name expected at position 7"
        );
    }

    #[test]
    fn brace_errors() {
        assert_eq!(error("{a=1"), "unclosed '{' opened at position 0");
        assert_eq!(
            error("x=1 && { {a=1} "),
            "unclosed '{' opened at position 7"
        );
        assert_eq!(error("name=Acme}"), "unexpected '}' at position 9");
        assert_eq!(error("{a=1} b=2"), "expected '&&' or '||' at position 6");
        assert_eq!(
            error("{a=\"1\" b=2}"),
            "expected '&&', '||' or '}' at position 7"
        );
        let deep = format!("{}a=1{}", "{".repeat(40), "}".repeat(40));
        assert_eq!(
            error(&deep),
            "groups are nested more than 32 deep at position 32"
        );
        let ok = format!("{}a=1{}", "{".repeat(32), "}".repeat(32));
        assert!(parse_query(&ok).is_ok());
    }

    #[test]
    fn value_errors() {
        assert_eq!(
            error("a="),
            "value expected after 'a=' at position 2 (the end of the query); write \"\" for an empty value"
        );
        assert_eq!(
            error("a!=  && b=1"),
            "value expected after 'a!=' at position 5; write \"\" for an empty value"
        );
        assert_eq!(
            error("{a~}"),
            "value expected after 'a~' at position 3; write \"\" for an empty value"
        );
        assert_eq!(error("a=\"abc"), "unclosed '\"' opened at position 2");
        assert_eq!(error("a=\"abc\\"), "unclosed '\"' opened at position 2");
        assert_eq!(
            error(r#"a="x\ny""#),
            r#"unknown escape '\n' at position 4; inside quotes only \" and \\ are escapes"#
        );
        assert_eq!(error(r#"a="x" y"#), "expected '&&' or '||' at position 6");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(input in any::<String>()) {
            let _ = parse_query(&input);
        }

        #[test]
        fn query_like_strings_never_panic(input in "[a-z.=!~<>&|{}\" \\\\é]{0,40}") {
            let _ = parse_query(&input);
        }
    }
}
