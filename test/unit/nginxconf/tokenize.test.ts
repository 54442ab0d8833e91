import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWord, scanLuaBlock, tokenize, type Token } from '../../../agent/nginxconf/parse/tokenize.js';

/** Tokens as compact strings: words as-is (quoted ones marked), punctuation as itself. */
function show(tokens: readonly Token[]): string[] {
  return tokens.map((t) => (t.type === 'word' ? (t.quoted ? `"${t.value}"` : t.value) : t.type === 'raw' ? `raw:${t.value}` : t.type));
}

describe('tokenize: nginx lexer rules (ngx_conf_read_token)', () => {
  it.each([
    ['simple directive', 'worker_processes 4;', ['worker_processes', '4', ';']],
    ['block', 'events { worker_connections 1024; }', ['events', '{', 'worker_connections', '1024', ';', '}']],
    ['no space before ; and {', 'a b;c{d;}', ['a', 'b', ';', 'c', '{', 'd', ';', '}']],
    ['tabs, CR and LF separate words', 'a\tb\r\nc;', ['a', 'b', 'c', ';']],
    ['comment at the start of a word', 'a b; # c d;\ne;', ['a', 'b', ';', 'e', ';']],
    ['# inside a word is a character', 'a b#c;', ['a', 'b#c', ';']],
    ['comment right after a word needs a space before it to be one', 'a b #c;\n;', ['a', 'b', ';']],
    ['double quotes keep spaces and ; { }', 'return 200 "a; b { } c";', ['return', '200', '"a; b { } c"', ';']],
    ['single quotes', "x 'it is';", ['x', '"it is"', ';']],
    ['empty quoted string', 'proxy_set_header Connection "";', ['proxy_set_header', 'Connection', '""', ';']],
    ['a quote inside an unquoted word is a character', 'a b"c;', ['a', 'b"c', ';']],
    ['escaped quote inside quotes', 'a "x\\"y";', ['a', '"x"y"', ';']],
    ['escaped single quote inside single quotes', "a 'it\\'s';", ['a', `"it's"`, ';']],
    ['escaped backslash', 'a "x\\\\";', ['a', '"x\\"', ';']],
    ['\\t \\r \\n become control characters', 'a "x\\ty\\nz\\r";', ['a', '"x\ty\nz\r"', ';']],
    ['other escapes are kept with their backslash', 'a "\\d+\\.";', ['a', '"\\d+\\."', ';']],
    ['escaped space keeps an unquoted word together', 'a b\\ c;', ['a', 'b\\ c', ';']],
    ['an escaped ; stays in the word, backslash and all', 'a b\\;c;', ['a', 'b\\;c', ';']],
    ['${var} is one word, not a block', 'set $x ${host}suffix;', ['set', '$x', '${host}suffix', ';']],
    ['${var} at the start of a word', 'a ${b};', ['a', '${b}', ';']],
    ['} inside a word is a character', 'a b}c;', ['a', 'b}c', ';']],
    ['if (...) with a quoted string before )', 'if ($a = "b") { c; }', ['if', '($a', '=', '"b"', ')', '{', 'c', ';', '}']],
    ['quoted block name', '"a" { }', ['"a"', '{', '}']],
    ['quoted word directly before ;', 'a "b";', ['a', '"b"', ';']],
    ['quoted word directly before {', 'location "/x"{ }', ['location', '"/x"', '{', '}']],
    ['regex with braces in quotes', 'location ~ "^/a{1,3}$" { }', ['location', '~', '"^/a{1,3}$"', '{', '}']],
    ['empty text', '', []],
    ['only comments and blank lines', '# a\n\n   # b\n', []],
  ])('%s', (_name, text, expected) => {
    const r = tokenize(text, 'f.conf');
    expect(r.problems).toEqual([]);
    expect(show(r.tokens)).toEqual(expected);
  });

  it('counts lines by LF only, and gives each word the line it starts on', () => {
    const r = tokenize('a\r\n  "b\nc"\n\n d;', 'f.conf');
    expect(r.tokens.filter((t): t is Extract<Token, { type: 'word' }> => t.type === 'word').map((t) => [t.value, t.line])).toEqual([
      ['a', 1],
      ['b\nc', 2],
      ['d', 5],
    ]);
  });

  it.each([
    ['unterminated double quote: line where it opens', 'a;\nb "never\nclosed;\n}\n', 2, /unterminated double quote/],
    ['unterminated single quote', "a;\nb 'x;\n", 2, /unterminated single quote/],
    ['directive cut off at the end', 'a;\nb c', 2, /unexpected end of file, expecting ";" or "}"/],
    ['arguments pending at the end', 'a;\nb c\n', 2, /unexpected end of file/],
  ])('%s', (_name, text, line, message) => {
    const r = tokenize(text, 'broken.conf');
    expect(r.truncated).toBe(true);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: 'broken.conf', line });
    expect(r.problems[0]!.message).toMatch(message);
    // The cut-off statement is dropped; what came before stays.
    expect(show(r.tokens)).toEqual(['a', ';']);
  });

  it('reports a character glued to a closing quote, and reads on with it as the next word', () => {
    const r = tokenize('a\nreturn 200 "ok"then;\nb;', 'f.conf');
    expect(r.problems).toEqual([{ file: 'f.conf', line: 2, message: expect.stringMatching(/^unexpected "t" after a quoted string/) as unknown }]);
    expect(show(r.tokens)).toEqual(['a', 'return', '200', '"ok"', 'then', ';', 'b', ';']);
  });

  describe('*_by_lua_block bodies are one raw token', () => {
    it('keeps braces, quotes and comments of Lua out of the nginx grammar', () => {
      const lua = `
        local t = { a = "}", b = '{' } -- a comment with } and "
        --[[ a long comment }
        ]]
        local s = [==[ long string } ]==]
        if x then ngx.say("{") end
      `;
      const r = tokenize(`location / {\n  content_by_lua_block {${lua}}\n  proxy_pass http://a;\n}\n`, 'lua.conf');
      expect(r.problems).toEqual([]);
      expect(show(r.tokens)).toEqual(['location', '/', '{', 'content_by_lua_block', '{', `raw:${lua}`, '}', 'proxy_pass', 'http://a', ';', '}']);
      const pass = r.tokens.find((t) => t.type === 'word' && t.value === 'proxy_pass');
      expect(pass?.line).toBe(3 + lua.split('\n').length - 1);
    });

    it('does not take a non-Lua block raw', () => {
      const r = tokenize('lua_block_like { a "}"; }', 'f.conf');
      expect(show(r.tokens)).toEqual(['lua_block_like', '{', 'a', '"}"', ';', '}']);
    });

    it('leaves an unclosed Lua block to the parser, without crashing', () => {
      const r = tokenize('init_by_lua_block { local x = 1\n', 'f.conf');
      expect(r.problems).toEqual([]);
      expect(show(r.tokens)).toEqual(['init_by_lua_block', '{', 'raw: local x = 1\n']);
    });

    it.each([
      ['nested braces', 'a = { b = { } } }', 16],
      ['string with an escaped quote', `s = "a\\"}" }`, 11],
      ['unterminated string ends at its line', `s = "abc\n}`, 9],
    ])('scanLuaBlock: %s', (_name, text, end) => {
      expect(scanLuaBlock(text, 0, 1)).toMatchObject({ end, closed: true });
    });
  });

  it('decodeWord follows nginx: only \\" \\\' \\\\ \\t \\r \\n are decoded', () => {
    expect(decodeWord('a\\"b\\\'c\\\\d\\te\\rf\\ng\\x\\')).toBe('a"b\'c\\d\te\rf\ng\\x\\');
  });

  it('never throws, and every problem has the file and a line within the text (property)', () => {
    const alphabet = fc.constantFrom(...'ab $#{}";\'\\\n\t\r()'.split(''), 'lua_by_lua_block', 'content_by_lua_block {', '--[[', ']]');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 80 }).map((a) => a.join('')), (text) => {
        const r = tokenize(text, 'p.conf');
        const lines = text.split('\n').length;
        for (const p of r.problems) {
          expect(p.file).toBe('p.conf');
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(lines);
        }
        for (const t of r.tokens) expect(t.line).toBeLessThanOrEqual(lines);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
        expect(() => tokenize(text, 'p.conf')).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
