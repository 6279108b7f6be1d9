pub fn encode(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut encoded = String::new();
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        if j - i > 1 {
            encoded.push_str(&(j - i).to_string());
        }
        encoded.push(chars[i]);
        i = j;
    }
    encoded
}

pub fn decode(text: &str) -> Option<String> {
    let mut decoded = String::new();
    let mut count: Option<usize> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
            count = Some(count.unwrap_or(0) * 10 + digit as usize);
        } else {
            for _ in 0..count.take().unwrap_or(1) {
                decoded.push(c);
            }
        }
    }
    match count {
        Some(_) => None,
        None => Some(decoded),
    }
}
