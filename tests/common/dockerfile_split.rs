//! A strict Dockerfile splitter for the injection tests: the instructions a Dockerfile
//! holds, as Docker's parser sees them (line continuations with `\` and trailing blanks,
//! comment and blank lines skipped even inside a continued instruction). It refuses
//! what a generated Dockerfile must never hold: a control character other than the
//! newline, a heredoc (`<<WORD` in `RUN`/`COPY`/`ADD`), an escape directive, or a
//! continuation that runs off the end of the file.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

/// One instruction: its keyword (upper case) and the rest of its (joined) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: String,
    pub rest: String,
}

/// The instructions of `text`, or why the text is not a Dockerfile Kyozo may generate.
pub fn split(text: &str) -> Result<Vec<Instruction>, String> {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
        return Err(format!("control character {c:?} in the Dockerfile"));
    }
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for (n, line) in text.split('\n').enumerate() {
        let trimmed = line.trim_start();
        if n == 0
            && trimmed
                .to_ascii_lowercase()
                .replace(' ', "")
                .starts_with("#escape=")
        {
            return Err("an escape directive".into());
        }
        if trimmed.starts_with('#') || trimmed.trim().is_empty() {
            // Skipped, also inside a continued instruction.
            continue;
        }
        let body = line.trim_end_matches([' ', '\t']);
        let (body, continues) = match body.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (body, false),
        };
        let joined = match current.take() {
            Some(mut c) => {
                c.push_str(body);
                c
            }
            None => body.to_string(),
        };
        if continues {
            current = Some(joined);
            continue;
        }
        out.push(instruction(&joined)?);
    }
    if let Some(c) = current {
        return Err(format!("a continuation runs off the end: {c:?}"));
    }
    Ok(out)
}

fn instruction(line: &str) -> Result<Instruction, String> {
    let line = line.trim_start();
    let (keyword, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    let keyword = keyword.to_ascii_uppercase();
    if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD")
        && rest.split_whitespace().any(|w| w.starts_with("<<"))
    {
        return Err(format!("a heredoc in {keyword} {rest}"));
    }
    Ok(Instruction {
        keyword,
        rest: rest.to_string(),
    })
}

/// The keywords, in order.
pub fn keywords(instructions: &[Instruction]) -> Vec<String> {
    instructions.iter().map(|i| i.keyword.clone()).collect()
}

/// The arguments of every `USER` instruction, in order.
pub fn users(instructions: &[Instruction]) -> Vec<String> {
    instructions
        .iter()
        .filter(|i| i.keyword == "USER")
        .map(|i| i.rest.trim().to_string())
        .collect()
}
