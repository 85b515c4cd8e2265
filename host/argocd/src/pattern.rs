//! Name patterns of the configuration: `*` for any run of characters, `?` for one.

/// Whether `value` matches `pattern` as a whole.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    // Iterative matching with one backtrack point: linear in practice, and no
    // pattern an administrator writes can make it recurse.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((star_p, star_v)) => {
                    p = star_p + 1;
                    v = star_v + 1;
                    star = Some((star_p, star_v + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn stars_and_question_marks() {
        for (pattern, value) in [
            ("*", ""),
            ("*", "shop"),
            ("shop", "shop"),
            ("team-a_*", "team-a_shop"),
            ("*_shop", "team-a_shop"),
            ("s?op", "shop"),
            ("*a*b*", "xxaxxbxx"),
        ] {
            assert!(glob_matches(pattern, value), "{pattern} {value}");
        }
        for (pattern, value) in [
            ("shop", "team-a_shop"),
            ("team-a_*", "team-b_shop"),
            ("s?op", "sop"),
            ("", "x"),
            ("*a*b", "xxaxxbxx"),
        ] {
            assert!(!glob_matches(pattern, value), "{pattern} {value}");
        }
    }
}
