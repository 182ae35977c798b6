//! Source readers through the public API: every format, gzip, BOM, other encodings, every bad
//! input with the exact line reported, and a generated 50k-row file read as a stream.
// Test helpers may unwrap: a failure is a test failure (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use bulkspec::source::{Field, Format, ReadOptions, SourceError, SourceReader, file_digest};
use flate2::Compression;
use flate2::write::GzEncoder;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Reads every row's `names` columns as strings, with the row's line.
fn read_all(opts: &ReadOptions, names: &[&str]) -> Result<Vec<(u64, Vec<String>)>, SourceError> {
    let mut reader = SourceReader::open(opts)?;
    let cols = reader.resolve(names)?;
    let mut out = Vec::new();
    while let Some(row) = reader.next_row()? {
        let values = cols
            .iter()
            .map(|c| match row.get(c) {
                Some(Field::Str(s)) => s.to_string(),
                Some(Field::Json(v)) => v.to_string(),
                None => "<none>".to_string(),
            })
            .collect();
        out.push((row.line(), values));
    }
    Ok(out)
}

fn rows(opts: &ReadOptions, names: &[&str]) -> Vec<(u64, Vec<String>)> {
    read_all(opts, names).unwrap()
}

fn err(opts: &ReadOptions, names: &[&str]) -> SourceError {
    match read_all(opts, names) {
        Ok(rows) => panic!("expected an error, read {} rows", rows.len()),
        Err(e) => e,
    }
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn csv_rows_start_on_their_physical_line() {
    let dir = tempfile::tempdir().unwrap();
    let data =
        "email,notes,score\na@x.org,\"two\nlines\",1\nb@x.org,\"say \"\"hi\"\"\",2\nc@x.org,,3\n";
    let path = write(dir.path(), "m.csv", data.as_bytes());
    let got = rows(&ReadOptions::new(path, Format::Csv), &["score", "notes"]);
    assert_eq!(
        got,
        vec![
            (2, v(&["1", "two\nlines"])),
            (4, v(&["2", "say \"hi\""])),
            (5, v(&["3", ""])),
        ]
    );
}

#[test]
fn crlf_and_blank_lines_keep_line_numbers_exact() {
    let dir = tempfile::tempdir().unwrap();
    let data = "a,b\r\n1,2\r\n\r\n\r\n3,\"x\r\ny\"\r\n5,6";
    let path = write(dir.path(), "crlf.csv", data.as_bytes());
    let got = rows(&ReadOptions::new(path, Format::Csv), &["a", "b"]);
    assert_eq!(
        got,
        vec![
            (2, v(&["1", "2"])),
            (5, v(&["3", "x\r\ny"])),
            (7, v(&["5", "6"]))
        ]
    );
}

#[test]
fn tsv_ssv_and_custom_delimiter_and_quote() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = write(dir.path(), "t.tsv", b"a\tb\n1\t2,3\n");
    assert_eq!(
        rows(&ReadOptions::new(tsv, Format::Tsv), &["b"]),
        vec![(2, v(&["2,3"]))]
    );
    let ssv = write(dir.path(), "s.csv", b"a;b\n1,5;'x;y'\n");
    let mut opts = ReadOptions::new(ssv, Format::Ssv);
    opts.quote = Some(b'\'');
    assert_eq!(rows(&opts, &["a", "b"]), vec![(2, v(&["1,5", "x;y"]))]);
    let pipe = write(dir.path(), "p.txt", b"a|b\n1|2\n");
    let mut opts = ReadOptions::new(pipe, Format::Csv);
    opts.delimiter = Some(b'|');
    assert_eq!(rows(&opts, &["b"]), vec![(2, v(&["2"]))]);
}

#[test]
fn jsonl_strings_values_paths_and_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = concat!(
        "{\"email\":\"a@x.org\",\"score\":7,\"address\":{\"city\":\"Lyon\"},\"tags\":[\"x\",\"y\"]}\n",
        "\n",
        "  {\"email\":\"b@x.org\",\"score\":null,\"a.b\":true}\r\n",
    );
    let path = write(dir.path(), "m.jsonl", data.as_bytes());
    let opts = ReadOptions::new(path, Format::Jsonl);
    let reader = SourceReader::open(&opts).unwrap();
    assert_eq!(
        reader.headers(),
        &v(&["email", "score", "address", "tags"])[..]
    );
    let got = rows(&opts, &["email", "score", "address.city", "tags.1", "a.b"]);
    assert_eq!(
        got,
        vec![
            (1, v(&["a@x.org", "7", "Lyon", "y", "<none>"])),
            (3, v(&["b@x.org", "null", "<none>", "<none>", "true"])),
        ]
    );
}

#[test]
fn gzip_by_extension_by_magic_forced_and_multi_member() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"a,b\n1,2\n";
    let by_ext = write(dir.path(), "m.csv.gz", &gz(data));
    assert_eq!(
        rows(&ReadOptions::new(by_ext, Format::Csv), &["b"]),
        vec![(2, v(&["2"]))]
    );
    let by_magic = write(dir.path(), "m.bin", &gz(data));
    assert_eq!(
        rows(&ReadOptions::new(by_magic, Format::Csv), &["b"]),
        vec![(2, v(&["2"]))]
    );
    // Two gzip members back to back (as `cat a.gz b.gz` makes) read as one file.
    let mut two = gz(b"a,b\n1,2\n");
    two.extend(gz(b"3,4\n"));
    let multi = write(dir.path(), "multi.gz", &two);
    let mut opts = ReadOptions::new(multi, Format::Csv);
    opts.gzip = Some(true);
    assert_eq!(rows(&opts, &["a"]), vec![(2, v(&["1"])), (3, v(&["3"]))]);
    let jsonl = write(dir.path(), "j.jsonl.gz", &gz(b"{\"k\":\"v\"}\n"));
    assert_eq!(
        rows(&ReadOptions::new(jsonl, Format::Jsonl), &["k"]),
        vec![(1, v(&["v"]))]
    );
}

#[test]
fn gzip_forced_on_a_plain_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "plain.csv", b"a\n1\n");
    let mut opts = ReadOptions::new(path, Format::Csv);
    opts.gzip = Some(true);
    assert!(matches!(err(&opts, &["a"]), SourceError::NotGzip { .. }));
}

/// Reads to the end, skipping row errors; returns the rows read and the error that ended it.
fn read_to_failure(opts: &ReadOptions) -> (usize, Option<SourceError>) {
    let mut reader = match SourceReader::open(opts) {
        Ok(reader) => reader,
        Err(e) => return (0, Some(e)),
    };
    let mut n = 0;
    loop {
        match reader.next_row() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return (n, None),
            Err(e) if e.is_row_error() => {}
            Err(e) => return (n, Some(e)),
        }
    }
}

#[test]
fn garbled_and_truncated_gzip_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..20_000).map(|i| format!("{i},name{i}\n")).collect();
    let packed = gz(format!("id,name\n{body}").as_bytes());
    let truncated = write(dir.path(), "t.csv.gz", &packed[..packed.len() / 2]);
    let (_, e) = read_to_failure(&ReadOptions::new(truncated, Format::Csv));
    assert!(matches!(e, Some(SourceError::Gzip { .. })), "{e:?}");
    // A damaged CRC is only seen at the end, after every row was read.
    let mut bad_crc = packed.clone();
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 0xff;
    let path = write(dir.path(), "crc.csv.gz", &bad_crc);
    let (n, e) = read_to_failure(&ReadOptions::new(path, Format::Csv));
    assert_eq!(n, 20_000);
    let e = e.unwrap();
    assert!(matches!(e, SourceError::Gzip { line: 20_002, .. }), "{e}");
    assert!(e.to_string().contains("gzip data is corrupt"), "{e}");
    // Garbage in the middle of the deflate stream.
    let mut garbled = packed;
    let middle = garbled.len() / 2;
    for b in &mut garbled[middle..middle + 64] {
        *b ^= 0x5a;
    }
    let path = write(dir.path(), "g.csv.gz", &garbled);
    let (n, e) = read_to_failure(&ReadOptions::new(path, Format::Csv));
    assert!(n < 20_000);
    assert!(matches!(e, Some(SourceError::Gzip { .. })), "{e:?}");
}

#[test]
fn utf8_bom_is_dropped_and_utf16_bom_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bom.csv",
        "\u{feff}email,n\nä@x.org,1\n".as_bytes(),
    );
    assert_eq!(
        rows(&ReadOptions::new(path, Format::Csv), &["email"]),
        vec![(2, v(&["ä@x.org"]))]
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "email,n\nö@x.org,1\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let path = write(dir.path(), "u16.csv", &utf16);
    assert_eq!(
        rows(&ReadOptions::new(path, Format::Csv), &["email"]),
        vec![(2, v(&["ö@x.org"]))]
    );
    let path = write(dir.path(), "bom.jsonl", "\u{feff}{\"k\":1}\n".as_bytes());
    assert_eq!(
        rows(&ReadOptions::new(path, Format::Jsonl), &["k"]),
        vec![(1, v(&["1"]))]
    );
}

#[test]
fn latin1_and_windows_1252_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // 0xE9 is é in both; 0x80 is € in windows-1252 (WHATWG maps latin1 to windows-1252 too).
    let path = write(dir.path(), "l1.csv", b"name,price\nJos\xe9,\x80 5\n");
    for label in ["latin1", "windows-1252", " ISO-8859-1 "] {
        let mut opts = ReadOptions::new(path.clone(), Format::Csv);
        opts.encoding = Some(label.to_string());
        assert_eq!(
            rows(&opts, &["name", "price"]),
            vec![(2, v(&["José", "€ 5"]))],
            "{label}"
        );
    }
}

#[test]
fn utf16_named_by_the_spec_needs_no_bom() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = "k,v\n1,ß\n"
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let path = write(dir.path(), "be.csv", &bytes);
    let mut opts = ReadOptions::new(path, Format::Csv);
    opts.encoding = Some("utf-16be".into());
    assert_eq!(rows(&opts, &["v"]), vec![(2, v(&["ß"]))]);
}

#[test]
fn unknown_encoding_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.csv", b"a\n1\n");
    let mut opts = ReadOptions::new(path, Format::Csv);
    opts.encoding = Some("klingon-8".into());
    let e = err(&opts, &["a"]);
    assert!(matches!(e, SourceError::UnknownEncoding { ref label, .. } if label == "klingon-8"));
    assert!(e.to_string().contains("windows-1252"), "{e}");
}

#[test]
fn non_utf8_is_reported_with_offset_line_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.csv", b"name,city\nJos\xe9,Lyon\n");
    let e = err(&ReadOptions::new(path, Format::Csv), &["name"]);
    assert!(
        matches!(
            e,
            SourceError::InvalidUtf8 {
                line: 2,
                offset: 13,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("encoding:"), "{e}");
}

#[test]
fn non_utf8_far_into_the_file_has_the_exact_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = b"id,text\n".to_vec();
    for i in 0..30_000 {
        // A two-byte character on every line, so chunk borders cut some of them.
        data.extend(format!("{i},caf\u{e9} \"q\"\n").as_bytes());
    }
    let offset = data.len() as u64 + 2;
    data.extend(b"x,\xff\n");
    let path = write(dir.path(), "late.csv", &data);
    let e = err(&ReadOptions::new(path, Format::Csv), &["id"]);
    assert!(
        matches!(e, SourceError::InvalidUtf8 { line: 30_002, offset: o, .. } if o == offset),
        "{e}"
    );
}

#[test]
fn unterminated_quote_is_reported_where_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.csv", b"a,b\n1,2\n3,\"never\nclosed\n4,5\n");
    let e = err(&ReadOptions::new(path, Format::Csv), &["a"]);
    assert!(
        matches!(e, SourceError::UnterminatedQuote { line: 3, .. }),
        "{e}"
    );
    // The open quote is on the record's second physical line, after a closed multi-line field.
    let path = write(dir.path(), "t2.csv", b"a,b\n\"p\nq\",\"r\ns");
    let e = err(&ReadOptions::new(path, Format::Csv), &["a"]);
    assert!(
        matches!(e, SourceError::UnterminatedQuote { line: 3, .. }),
        "{e}"
    );
    let path = write(dir.path(), "t3.csv", b"a,\"b\n");
    let e = SourceReader::open(&ReadOptions::new(path, Format::Csv))
        .err()
        .unwrap();
    assert!(
        matches!(e, SourceError::UnterminatedQuote { line: 1, .. }),
        "{e}"
    );
}

#[test]
fn a_closed_quote_at_the_end_of_the_file_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "end.csv", b"a,b\n1,\"x\ny\"");
    assert_eq!(
        rows(&ReadOptions::new(path, Format::Csv), &["b"]),
        vec![(2, v(&["x\ny"]))]
    );
}

#[test]
fn ragged_rows_say_expected_and_found_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "r.csv",
        b"a,b,c\n1,2,3\n4,5\n6,\"7\n\",8,9\n10,11,12\n",
    );
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Csv)).unwrap();
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(2));
    let e = reader.next_row().err().unwrap();
    assert!(
        matches!(
            e,
            SourceError::RaggedRow {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_row_error());
    let e = reader.next_row().err().unwrap();
    assert!(
        matches!(
            e,
            SourceError::RaggedRow {
                line: 4,
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(6));
    assert!(reader.next_row().unwrap().is_none());
}

#[test]
fn empty_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, format) in [
        ("e.csv", b"".to_vec(), Format::Csv),
        ("nl.csv", b"\n\r\n\n".to_vec(), Format::Csv),
        ("bom.csv", b"\xef\xbb\xbf".to_vec(), Format::Csv),
        ("e.csv.gz", gz(b""), Format::Csv),
        ("e.jsonl", b"\n  \n".to_vec(), Format::Jsonl),
    ] {
        let path = write(dir.path(), name, &bytes);
        let e = SourceReader::open(&ReadOptions::new(path, format)).err();
        assert!(
            matches!(e, Some(SourceError::EmptyFile { .. })),
            "{name}: {e:?}"
        );
    }
    // A header without rows is a valid, empty source.
    let path = write(dir.path(), "h.csv", b"a,b\n");
    assert_eq!(rows(&ReadOptions::new(path, Format::Csv), &["a"]), vec![]);
}

#[test]
fn headerless_files_need_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "nh.csv", b"a@x.org,1\nb@x.org,2\n");
    let mut opts = ReadOptions::new(path, Format::Csv);
    opts.has_header = false;
    assert!(matches!(
        err(&opts, &["email"]),
        SourceError::MissingHeader { .. }
    ));
    opts.column_names = Some(v(&["email", "score"]));
    assert_eq!(
        rows(&opts, &["score", "email"]),
        vec![(1, v(&["1", "a@x.org"])), (2, v(&["2", "b@x.org"]))]
    );
}

#[test]
fn a_header_that_is_data_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "nh.csv", b"a@x.org,1\nb@x.org,2\n");
    let e = err(&ReadOptions::new(path, Format::Csv), &["email"]);
    assert!(e.to_string().contains("has_header: false"), "{e}");
}

#[test]
fn invalid_json_and_non_objects_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = "{\"k\":1}\n\n{\"k\": tru}\n[1,2]\n{\"k\":\"cut\n{\"k\":4}\n";
    let path = write(dir.path(), "bad.jsonl", data.as_bytes());
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Jsonl)).unwrap();
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(1));
    let e = reader.next_row().err().unwrap();
    assert!(
        matches!(
            e,
            SourceError::InvalidJson {
                line: 3,
                column: 10,
                ..
            }
        ),
        "{e}"
    );
    let e = reader.next_row().err().unwrap();
    assert!(
        matches!(
            e,
            SourceError::NotAnObject {
                line: 4,
                found: "an array",
                ..
            }
        ),
        "{e}"
    );
    let e = reader.next_row().err().unwrap();
    assert!(matches!(e, SourceError::InvalidJson { line: 5, .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(6));
    assert!(reader.next_row().unwrap().is_none());
}

#[test]
fn broken_leading_lines_are_row_errors_and_the_first_object_gives_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let data = "{\"k\": \n[1]\n{\"k\":\"v\",\"n\":2}\n{\"k\":\"w\"}\n";
    let path = write(dir.path(), "lead.jsonl", data.as_bytes());
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Jsonl)).unwrap();
    assert_eq!(reader.headers(), ["k", "n"]);
    let e = reader.next_row().err().unwrap();
    assert!(matches!(e, SourceError::InvalidJson { line: 1, .. }), "{e}");
    let e = reader.next_row().err().unwrap();
    assert!(matches!(e, SourceError::NotAnObject { line: 2, .. }), "{e}");
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(3));
    assert_eq!(reader.next_row().unwrap().map(|r| r.line()), Some(4));
    assert!(reader.next_row().unwrap().is_none());

    // Nothing but broken lines: not JSON Lines at all, refused as a whole at the first one.
    let path = write(dir.path(), "none.jsonl", b"not json\n{\"k\":\n");
    let e = SourceReader::open(&ReadOptions::new(path, Format::Jsonl))
        .err()
        .unwrap();
    assert!(matches!(e, SourceError::InvalidJson { line: 1, .. }), "{e}");
}

#[test]
fn missing_columns_are_all_reported_with_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "m.csv",
        b"email,firstName,leadScore\nx@y.org,A,1\n",
    );
    let e = err(
        &ReadOptions::new(path, Format::Csv),
        &["emial", "email", "FirstName", "phone"],
    );
    let SourceError::MissingColumns { missing, .. } = &e else {
        panic!("{e}");
    };
    let got: Vec<_> = missing
        .iter()
        .map(|m| (m.name.as_str(), m.suggestion.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("emial", Some("email")),
            ("FirstName", Some("firstName")),
            ("phone", None)
        ]
    );
    let text = e.to_string();
    assert!(text.contains("did you mean \"email\"?"), "{text}");
    assert!(text.contains("\"leadScore\""), "{text}");
}

#[test]
fn a_wrong_delimiter_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "semi.csv", b"email;score\nx@y.org;1\n");
    let e = err(&ReadOptions::new(path, Format::Csv), &["email"]);
    let text = e.to_string();
    assert!(
        text.contains("semicolon-separated") && text.contains("format: ssv"),
        "{text}"
    );
}

#[test]
fn duplicated_header_names_are_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "d.csv", b"a,b,a\n1,2,3\n");
    let e = err(&ReadOptions::new(path, Format::Csv), &["a"]);
    assert!(
        matches!(e, SourceError::AmbiguousColumn { count: 2, .. }),
        "{e}"
    );
}

#[test]
fn hash64_matches_the_floor_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "h.csv", b"a,b\nab,c\na,bc\nab,c\n");
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Csv)).unwrap();
    let mut hashes = Vec::new();
    while let Some(row) = reader.next_row().unwrap() {
        hashes.push(row.hash64());
    }
    let mut floor = Vec::new();
    for field in [b"ab".as_slice(), b"c"] {
        floor.extend((field.len() as u32).to_le_bytes());
        floor.extend(field);
    }
    assert_eq!(hashes[0], xxhash_rust::xxh3::xxh3_64(&floor));
    assert_ne!(hashes[0], hashes[1]);
    assert_eq!(hashes[0], hashes[2]);
}

#[test]
fn file_digest_is_the_sha256_of_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "abc", b"abc");
    assert_eq!(
        file_digest(&path).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(matches!(
        file_digest(&dir.path().join("nope")),
        Err(SourceError::Open { .. })
    ));
}

#[test]
fn open_errors_name_the_file() {
    let e = SourceReader::open(&ReadOptions::new("/nonexistent/m.csv", Format::Csv))
        .err()
        .unwrap();
    assert!(
        e.to_string().starts_with("/nonexistent/m.csv: cannot open"),
        "{e}"
    );
}

/// 50k generated rows, one in 200 with an embedded newline, gzip: lines stay exact, progress
/// reaches the file size.
#[test]
fn fifty_thousand_rows_stream_with_exact_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = String::from("email,notes,score\n");
    let mut expected_lines = Vec::new();
    let mut line = 2;
    for i in 0..50_000u64 {
        expected_lines.push(line);
        if i % 200 == 7 {
            data.push_str(&format!("u{i}@x.org,\"first, \"\"q\"\"\nsecond\",{i}\n"));
            line += 2;
        } else {
            data.push_str(&format!("u{i}@x.org,plain ü {i},{i}\n"));
            line += 1;
        }
    }
    let path = write(dir.path(), "big.csv.gz", &gz(data.as_bytes()));
    let size = std::fs::metadata(&path).unwrap().len();
    let mut reader = SourceReader::open(&ReadOptions::new(path, Format::Csv)).unwrap();
    let cols = reader.resolve(&["email", "score"]).unwrap();
    let mut n = 0usize;
    while let Some(row) = reader.next_row().unwrap() {
        assert_eq!(row.line(), expected_lines[n]);
        assert_eq!(row.get(&cols[1]), Some(Field::Str(&n.to_string())));
        n += 1;
    }
    assert_eq!(n, 50_000);
    assert_eq!(reader.progress().read, size);
    assert_eq!(reader.progress().total, Some(size));
}
