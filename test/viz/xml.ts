/**
 * A small strict XML parser for tests: it rejects mismatched or unclosed tags, unquoted or
 * duplicate attributes and stray '<', so "parses as XML" is a real check on our SVG output.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;

export function parseXml(source: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const fail = (msg: string): never => {
    throw new Error(`XML error at offset ${i}: ${msg}: ${JSON.stringify(source.slice(i, i + 40))}`);
  };
  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const textEnd = lt < 0 ? source.length : lt;
    const text = source.slice(i, textEnd);
    if (/[<>]/.test(text.replace(/&[a-zA-Z#0-9]+;/g, "")) && text.includes("<")) fail("stray <");
    if (/&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)/.test(text)) fail("bare &");
    stack[stack.length - 1]!.text += text;
    if (lt < 0) break;
    i = lt;
    if (source.startsWith("<?", i)) { const e = source.indexOf("?>", i); if (e < 0) fail("unclosed <?"); i = e + 2; continue; }
    if (source.startsWith("<!--", i)) { const e = source.indexOf("-->", i); if (e < 0) fail("unclosed comment"); i = e + 3; continue; }
    if (source.startsWith("<!", i)) { const e = source.indexOf(">", i); if (e < 0) fail("unclosed <!"); i = e + 1; continue; }
    if (source.startsWith("</", i)) {
      i += 2;
      const m = NAME.exec(source.slice(i)); if (!m) fail("bad closing tag");
      const name = m![0]; i += name.length;
      while (/\s/.test(source[i] ?? "")) i++;
      if (source[i] !== ">") fail("expected >");
      i++;
      const open = stack.pop();
      if (!open || open === root || open.name !== name) fail(`closing </${name}> does not match <${open?.name}>`);
      continue;
    }
    i += 1;
    const m = NAME.exec(source.slice(i)); if (!m) fail("bad tag name");
    const el: XmlElement = { name: m![0], attrs: {}, children: [], text: "" };
    i += el.name.length;
    for (;;) {
      const ws = /^\s*/.exec(source.slice(i))![0]; i += ws.length;
      if (source.startsWith("/>", i)) { i += 2; stack[stack.length - 1]!.children.push(el); break; }
      if (source[i] === ">") { i += 1; stack[stack.length - 1]!.children.push(el); stack.push(el); break; }
      if (!ws) fail("expected whitespace before attribute");
      const a = NAME.exec(source.slice(i)); if (!a) fail("bad attribute name");
      i += a![0].length;
      if (source[i] !== "=") fail("attribute without value");
      const q = source[i + 1]; if (q !== '"' && q !== "'") fail("unquoted attribute");
      const end = source.indexOf(q!, i + 2); if (end < 0) fail("unterminated attribute");
      if (a![0] in el.attrs) fail(`duplicate attribute ${a![0]}`);
      const value = source.slice(i + 2, end);
      if (value.includes("<")) fail("< in attribute");
      el.attrs[a![0]] = value;
      i = end + 1;
    }
  }
  if (stack.length !== 1) throw new Error(`XML error: unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error(`XML error: expected one root element, got ${root.children.length}`);
  return root.children[0]!;
}

/** Every element below `el` (depth first). */
export function descendants(el: XmlElement): XmlElement[] {
  return el.children.flatMap((c) => [c, ...descendants(c)]);
}

/** The data marks vega drew for one mark type: children of `<g class="mark-TYPE role-mark ...">` (not legends or axes). */
export function marksOf(svg: XmlElement, markType: string): XmlElement[] {
  return descendants(svg)
    .filter((e) => e.name === "g" && (e.attrs.class ?? "").split(/\s+/).includes(`mark-${markType}`) && (e.attrs.class ?? "").split(/\s+/).includes("role-mark"))
    .flatMap((g) => g.children);
}
