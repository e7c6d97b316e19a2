// qr.js: a small QR code encoder of our own (ISO/IEC 18004), so the admin
// page can show a door device's pairing link as a QR code without the
// network or a library. Byte mode, error correction level M (15 % of the
// code may be damaged), versions 1 to 10 (up to 213 bytes: a pairing link
// needs about 60), the mask chosen by the standard's penalty rules. The
// web tests decode what it draws with a decoder written apart from it.

// Per version 1..10 at level M: EC codewords per block, blocks in group 1,
// their data codewords, blocks in group 2 (each with one data codeword
// more). ISO/IEC 18004:2015 table 9.
const BLOCKS_M = [
  null,
  [10, 1, 16, 0], [16, 1, 28, 0], [26, 1, 44, 0], [18, 2, 32, 0], [24, 2, 43, 0],
  [16, 4, 27, 0], [18, 4, 31, 0], [22, 2, 38, 2], [22, 3, 36, 2], [26, 4, 43, 1],
];

// The centres of the alignment patterns per version (annex E).
const ALIGN = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];

export const MAX_VERSION = 10;

// dataCodewords is the data capacity of a version at level M.
function dataCodewords(v) {
  const [, b1, d1, b2] = BLOCKS_M[v];
  return b1 * d1 + b2 * (d1 + 1);
}

// encode returns the QR code of text: {version, size, mask, modules}, where
// modules[y][x] is true for a dark module (y the row, x the column), quiet
// zone excluded. It throws when the text does not fit version 10.
// opts.mask (0 to 7) forces a mask, for tests.
export function encode(text, opts = {}) {
  const bytes = new TextEncoder().encode(text);
  let version = 0;
  for (let v = 1; v <= MAX_VERSION; v++) {
    const countBits = v <= 9 ? 8 : 16;
    if (4 + countBits + 8 * bytes.length <= 8 * dataCodewords(v)) {
      version = v;
      break;
    }
  }
  if (!version) throw new Error(`too long for a QR code here: ${bytes.length} bytes`);
  const codewords = addErrorCorrection(dataStream(bytes, version), version);
  const q = new Matrix(version);
  q.drawFunctionPatterns();
  q.drawCodewords(codewords);
  let best = -1;
  let bestPenalty = Infinity;
  for (let m = 0; m < 8; m++) {
    if (opts.mask !== undefined && m !== opts.mask) continue;
    q.applyMask(m);
    q.drawFormat(m);
    const p = q.penalty();
    if (p < bestPenalty) {
      best = m;
      bestPenalty = p;
    }
    q.applyMask(m); // masking twice undoes it
  }
  q.applyMask(best);
  q.drawFormat(best);
  return {version, size: q.size, mask: best, modules: q.modules};
}

// dataStream is the data codewords: mode, count, the bytes, a terminator
// and the pad codewords, filling the version's capacity.
function dataStream(bytes, version) {
  const bits = [];
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4); // byte mode
  put(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const capacity = 8 * dataCodewords(version);
  put(0, Math.min(4, capacity - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8);
  const out = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    out.push(b);
  }
  return out;
}

// addErrorCorrection splits the data into the version's blocks, adds each
// block's Reed-Solomon codewords and interleaves them.
function addErrorCorrection(data, version) {
  const [ec, b1, d1, b2] = BLOCKS_M[version];
  const divisor = rsDivisor(ec);
  const blocks = [];
  let k = 0;
  for (let i = 0; i < b1 + b2; i++) {
    const n = i < b1 ? d1 : d1 + 1;
    const d = data.slice(k, k + n);
    k += n;
    blocks.push({data: d, ec: rsRemainder(d, divisor)});
  }
  const out = [];
  for (let i = 0; i <= d1; i++) {
    for (const b of blocks) if (i < b.data.length) out.push(b.data[i]);
  }
  for (let i = 0; i < ec; i++) {
    for (const b of blocks) out.push(b.ec[i]);
  }
  return out;
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
function gfMul(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

// rsDivisor is the generator polynomial (x - a^0)(x - a^1)...(x - a^(n-1)),
// its coefficients from the highest power down, the leading 1 left out.
function rsDivisor(n) {
  const r = new Array(n).fill(0);
  r[n - 1] = 1;
  let root = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      r[j] = gfMul(r[j], root);
      if (j + 1 < n) r[j] ^= r[j + 1];
    }
    root = gfMul(root, 2);
  }
  return r;
}

function rsRemainder(data, divisor) {
  const r = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ r.shift();
    r.push(0);
    for (let i = 0; i < divisor.length; i++) r[i] ^= gfMul(divisor[i], factor);
  }
  return r;
}

// bch returns value with its BCH check bits appended (format and version
// information).
function bch(value, dataBits, poly, totalBits) {
  let rem = value << (totalBits - dataBits);
  const top = 31 - Math.clz32(poly);
  for (let i = totalBits - 1; i >= top; i--) {
    if ((rem >>> i) & 1) rem ^= poly << (i - top);
  }
  return (value << (totalBits - dataBits)) | rem;
}

class Matrix {
  constructor(version) {
    this.version = version;
    this.size = 17 + 4 * version;
    this.modules = Array.from({length: this.size}, () => new Array(this.size).fill(false));
    this.isFunction = Array.from({length: this.size}, () => new Array(this.size).fill(false));
  }

  set(x, y, dark) {
    this.modules[y][x] = dark;
    this.isFunction[y][x] = true;
  }

  drawFunctionPatterns() {
    const s = this.size;
    for (let i = 0; i < s; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    // Finders with their separators.
    for (const [cx, cy] of [[3, 3], [s - 4, 3], [3, s - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx;
          const y = cy + dy;
          if (x < 0 || x >= s || y < 0 || y >= s) continue;
          const d = Math.max(Math.abs(dx), Math.abs(dy));
          this.set(x, y, d !== 2 && d !== 4);
        }
      }
    }
    const al = ALIGN[this.version];
    for (const cy of al) {
      for (const cx of al) {
        if ((cx === 6 && cy === 6) || (cx === 6 && cy === al[al.length - 1]) || (cx === al[al.length - 1] && cy === 6)) continue;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) this.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
        }
      }
    }
    this.drawFormat(0); // reserves the format areas; drawn again after masking
    if (this.version >= 7) {
      const bits = bch(this.version, 6, 0x1f25, 18);
      for (let i = 0; i < 18; i++) {
        const dark = ((bits >>> i) & 1) === 1;
        const a = s - 11 + (i % 3);
        const b = Math.floor(i / 3);
        this.set(a, b, dark);
        this.set(b, a, dark);
      }
    }
  }

  // drawFormat writes both copies of the format information (level M,
  // mask m) and the dark module.
  drawFormat(m) {
    const s = this.size;
    const bits = bch((0b00 << 3) | m, 5, 0x537, 15) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) this.set(8, i, bit(i));
    this.set(8, 7, bit(6));
    this.set(8, 8, bit(7));
    this.set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) this.set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) this.set(s - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) this.set(8, s - 15 + i, bit(i));
    this.set(8, s - 8, true);
  }

  // drawCodewords places the codewords' bits in the zigzag order, two
  // columns at a time from the right, skipping the vertical timing pattern.
  drawCodewords(codewords) {
    const s = this.size;
    let i = 0;
    for (let right = s - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      const upward = ((right + 1) & 2) === 0;
      for (let vert = 0; vert < s; vert++) {
        const y = upward ? s - 1 - vert : vert;
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          if (this.isFunction[y][x]) continue;
          if (i < codewords.length * 8) {
            this.modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
            i++;
          }
        }
      }
    }
  }

  applyMask(m) {
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size; x++) {
        if (this.isFunction[y][x]) continue;
        let flip;
        switch (m) {
          case 0: flip = (x + y) % 2 === 0; break;
          case 1: flip = y % 2 === 0; break;
          case 2: flip = x % 3 === 0; break;
          case 3: flip = (x + y) % 3 === 0; break;
          case 4: flip = (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0; break;
          case 5: flip = ((x * y) % 2) + ((x * y) % 3) === 0; break;
          case 6: flip = (((x * y) % 2) + ((x * y) % 3)) % 2 === 0; break;
          default: flip = (((x + y) % 2) + ((x * y) % 3)) % 2 === 0;
        }
        if (flip) this.modules[y][x] = !this.modules[y][x];
      }
    }
  }

  // penalty scores the matrix by the standard's four rules: long runs,
  // 2x2 blocks, finder-like patterns and an unbalanced share of dark.
  penalty() {
    const s = this.size;
    const m = this.modules;
    let p = 0;
    const line = (get) => {
      let run = 1;
      for (let i = 1; i <= s; i++) {
        if (i < s && get(i) === get(i - 1)) {
          run++;
          continue;
        }
        if (run >= 5) p += 3 + run - 5;
        run = 1;
      }
      // 1:1:3:1:1 with four light modules on one side.
      for (let i = 0; i + 11 <= s; i++) {
        let a = true;
        let b = true;
        for (let k = 0; k < 11; k++) {
          const want = [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0][k] === 1;
          if (get(i + k) !== want) a = false;
          if (get(i + 10 - k) !== want) b = false;
        }
        if (a) p += 40;
        if (b) p += 40;
      }
    };
    for (let y = 0; y < s; y++) line((x) => m[y][x]);
    for (let x = 0; x < s; x++) line((y) => m[y][x]);
    let dark = 0;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        if (m[y][x]) dark++;
        if (x + 1 < s && y + 1 < s && m[y][x] === m[y][x + 1] && m[y][x] === m[y + 1][x] && m[y][x] === m[y + 1][x + 1]) p += 3;
      }
    }
    p += 10 * Math.floor(Math.abs((dark * 100) / (s * s) - 50) / 5);
    return p;
  }
}

// toSVG draws a code as an SVG element: one path of dark squares on a white
// quiet zone of four modules, scaled to px pixels a side.
export function toSVG(code, px) {
  const NS = 'http://www.w3.org/2000/svg';
  const n = code.size + 8;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  svg.setAttribute('width', String(px));
  svg.setAttribute('height', String(px));
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', String(n));
  bg.setAttribute('height', String(n));
  bg.setAttribute('fill', '#fff');
  svg.append(bg);
  let d = '';
  for (let y = 0; y < code.size; y++) {
    for (let x = 0; x < code.size; x++) if (code.modules[y][x]) d += `M${x + 4} ${y + 4}h1v1h-1z`;
  }
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}
