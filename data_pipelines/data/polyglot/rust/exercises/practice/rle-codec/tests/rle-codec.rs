use rle_codec::{decode, encode};

#[test]
fn encode_a_run() {
    assert_eq!(encode("AAAA"), "4A");
}

#[test]
#[ignore]
fn encode_the_empty_string() {
    assert_eq!(encode(""), "");
}

#[test]
#[ignore]
fn encode_single_characters_unchanged() {
    assert_eq!(encode("abc"), "abc");
}

#[test]
#[ignore]
fn encode_runs_and_single_characters() {
    assert_eq!(encode("WWWWBBxWW"), "4W2Bx2W");
}

#[test]
#[ignore]
fn encode_non_ascii_runs() {
    assert_eq!(encode("ééé  ü"), "3é2 ü");
}

#[test]
#[ignore]
fn decode_the_empty_string() {
    assert_eq!(decode(""), Some(String::new()));
}

#[test]
#[ignore]
fn decode_a_multi_digit_count() {
    assert_eq!(decode("12a3b"), Some(format!("{}bbb", "a".repeat(12))));
}

#[test]
#[ignore]
fn decode_a_trailing_count_is_invalid() {
    assert_eq!(decode("3a4"), None);
}

#[test]
#[ignore]
fn round_trip() {
    let text = "zzz ppp  q rrrrrrrrrr!";
    assert_eq!(decode(&encode(text)).as_deref(), Some(text));
}
