// A linear program as plain arrays (row-wise sparse matrix), built incrementally, plus an ordered list of
// objectives for lexicographic (prioritised) goal programming. Pure data: the solver adapter ships it to
// HiGHS; `toCplexLp` writes the same model as CPLEX LP text for inspection or `highs.solve(text)`.

export interface SparseVector {
  indices: Int32Array;
  values: Float64Array;
}

export interface PriorityObjective {
  /** Short machine name, e.g. "overflow". */
  name: string;
  coefficients: SparseVector;
  /** Degradation allowed when the optimum is fixed for lower priorities: max(absTol, relTol·|optimum|). */
  absTol: number;
  relTol: number;
  /** Every coefficient positive on a variable with a non-negative lower bound: a zero optimum pins them all. */
  nonNegative: boolean;
}

export interface LinearProblem {
  numCols: number;
  numRows: number;
  colLower: Float64Array;
  colUpper: Float64Array;
  colNames: string[];
  rowLower: Float64Array;
  rowUpper: Float64Array;
  rowNames: string[];
  /** CSR: row i's entries are starts[i]..starts[i+1]. */
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Solved in this order; each optimum is kept (within tolerance) while the next is minimised. */
  objectives: PriorityObjective[];
}

export class LpBuilder {
  private readonly colLower: number[] = [];
  private readonly colUpper: number[] = [];
  private readonly colNames: string[] = [];
  private readonly rowLower: number[] = [];
  private readonly rowUpper: number[] = [];
  private readonly rowNames: string[] = [];
  private readonly starts: number[] = [0];
  private readonly indices: number[] = [];
  private readonly values: number[] = [];
  private readonly objectives: { name: string; coef: Map<number, number>; absTol: number; relTol: number }[] = [];

  get numCols(): number {
    return this.colLower.length;
  }

  get numRows(): number {
    return this.rowLower.length;
  }

  addCol(name: string, lower: number, upper: number): number {
    if (Number.isNaN(lower) || Number.isNaN(upper)) throw new RangeError(`column ${name}: bound is NaN`);
    this.colLower.push(lower);
    this.colUpper.push(upper);
    this.colNames.push(name);
    return this.colLower.length - 1;
  }

  setColBounds(col: number, lower: number, upper: number): void {
    this.colLower[col] = lower;
    this.colUpper[col] = upper;
  }

  colBounds(col: number): [number, number] {
    return [this.colLower[col]!, this.colUpper[col]!];
  }

  /** Adds lower ≤ Σ coef·x ≤ upper; repeated columns are summed, zero coefficients dropped. */
  addRow(name: string, terms: Iterable<readonly [number, number]>, lower: number, upper: number): number {
    if (Number.isNaN(lower) || Number.isNaN(upper)) throw new RangeError(`row ${name}: bound is NaN`);
    const merged = new Map<number, number>();
    for (const [col, coef] of terms) {
      if (!Number.isFinite(coef)) throw new RangeError(`row ${name}: coefficient of column ${col} is ${coef}`);
      merged.set(col, (merged.get(col) ?? 0) + coef);
    }
    for (const [col, coef] of [...merged].sort((a, b) => a[0] - b[0])) {
      if (coef === 0) continue;
      this.indices.push(col);
      this.values.push(coef);
    }
    this.starts.push(this.indices.length);
    this.rowLower.push(lower);
    this.rowUpper.push(upper);
    this.rowNames.push(name);
    return this.rowLower.length - 1;
  }

  /** Declares the next priority; objectives are solved in the order they are declared. */
  addObjective(name: string, absTol: number, relTol: number): (col: number, coef: number) => void {
    const entry = { name, coef: new Map<number, number>(), absTol, relTol };
    this.objectives.push(entry);
    return (col, coef) => {
      if (!Number.isFinite(coef)) throw new RangeError(`objective ${name}: coefficient of column ${col} is ${coef}`);
      entry.coef.set(col, (entry.coef.get(col) ?? 0) + coef);
    };
  }

  build(): LinearProblem {
    const objectives: PriorityObjective[] = [];
    for (const o of this.objectives) {
      const entries = [...o.coef].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
      // An objective without variables cannot change anything: skip it rather than spend a solve on it.
      if (entries.length === 0) continue;
      objectives.push({
        name: o.name,
        coefficients: { indices: Int32Array.from(entries.map((e) => e[0])), values: Float64Array.from(entries.map((e) => e[1])) },
        absTol: o.absTol,
        relTol: o.relTol,
        nonNegative: entries.every(([col, v]) => v > 0 && this.colLower[col]! >= 0),
      });
    }
    return {
      numCols: this.colLower.length,
      numRows: this.rowLower.length,
      colLower: Float64Array.from(this.colLower),
      colUpper: Float64Array.from(this.colUpper),
      colNames: [...this.colNames],
      rowLower: Float64Array.from(this.rowLower),
      rowUpper: Float64Array.from(this.rowUpper),
      rowNames: [...this.rowNames],
      starts: Int32Array.from(this.starts),
      indices: Int32Array.from(this.indices),
      values: Float64Array.from(this.values),
      objectives,
    };
  }
}

/** Row activities Σ coef·x of a solution, for checks. */
export function rowActivities(problem: LinearProblem, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(problem.numRows);
  for (let r = 0; r < problem.numRows; r++) {
    let sum = 0;
    for (let p = problem.starts[r]!; p < problem.starts[r + 1]!; p++) sum += problem.values[p]! * x[problem.indices[p]!]!;
    out[r] = sum;
  }
  return out;
}

export function objectiveValue(objective: PriorityObjective, x: ArrayLike<number>): number {
  let sum = 0;
  objective.coefficients.indices.forEach((col, i) => (sum += objective.coefficients.values[i]! * x[col]!));
  return sum;
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15))));

function linearText(terms: [string, number][]): string {
  if (terms.length === 0) return '0 x_zero';
  let out = '';
  let line = '';
  for (const [i, [name, coef]] of terms.entries()) {
    const sign = coef < 0 ? '-' : '+';
    const piece = `${i === 0 && sign === '+' ? '' : ` ${sign} `}${num(Math.abs(coef))} ${name}`;
    // LP readers limit line length: wrap long rows.
    if (line.length + piece.length > 200) {
      out += `${line}\n `;
      line = '';
    }
    line += piece;
  }
  return out + line;
}

/** LP names may not contain '-' (an operator in the format): ids only use [A-Za-z0-9_-], so '~' keeps names unique. */
export function lpName(name: string): string {
  return name.replaceAll('-', '~');
}

/**
 * The model as CPLEX LP text with one objective: the priority at `priorityIndex`, and the optima of the
 * earlier priorities (when given) as constraints with their tolerances — the model HiGHS solves at that stage.
 */
export function toCplexLp(problem: LinearProblem, priorityIndex = 0, earlierOptima: readonly number[] = []): string {
  const names = problem.colNames.map(lpName);
  const objective = problem.objectives[priorityIndex];
  const lines: string[] = [`\\ ${problem.numCols} columns, ${problem.numRows} rows; priority ${objective?.name ?? 'none'}`, 'Minimize'];
  const objTerms: [string, number][] = objective ? Array.from(objective.coefficients.indices, (c, i) => [names[c]!, objective.coefficients.values[i]!]) : [];
  lines.push(` obj: ${linearText(objTerms)}`);
  lines.push('Subject To');
  const bound = (name: string, text: string, lower: number, upper: number) => {
    if (lower === upper) lines.push(` ${name}: ${text} = ${num(lower)}`);
    else {
      if (Number.isFinite(lower)) lines.push(` ${name}_lo: ${text} >= ${num(lower)}`);
      if (Number.isFinite(upper)) lines.push(` ${name}_up: ${text} <= ${num(upper)}`);
    }
  };
  for (let r = 0; r < problem.numRows; r++) {
    const terms: [string, number][] = [];
    for (let p = problem.starts[r]!; p < problem.starts[r + 1]!; p++) terms.push([names[problem.indices[p]!]!, problem.values[p]!]);
    bound(`r${r}`, linearText(terms), problem.rowLower[r]!, problem.rowUpper[r]!);
  }
  earlierOptima.forEach((optimum, i) => {
    const o = problem.objectives[i];
    if (!o) return;
    const terms: [string, number][] = Array.from(o.coefficients.indices, (c, j) => [names[c]!, o.coefficients.values[j]!]);
    lines.push(` fix_${o.name}: ${linearText(terms)} <= ${num(optimum + Math.max(o.absTol, o.relTol * Math.abs(optimum)))}`);
  });
  lines.push('Bounds');
  for (let c = 0; c < problem.numCols; c++) {
    const lo = problem.colLower[c]!;
    const up = problem.colUpper[c]!;
    const loText = Number.isFinite(lo) ? num(lo) : '-inf';
    const upText = Number.isFinite(up) ? num(up) : '+inf';
    lines.push(lo === up ? ` ${names[c]} = ${num(lo)}` : ` ${loText} <= ${names[c]} <= ${upText}`);
  }
  lines.push('End', '');
  return lines.join('\n');
}
