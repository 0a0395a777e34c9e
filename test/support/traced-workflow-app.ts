import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { TrackAgent, TrackLLM, TrackTool, TrackWorkflow } from '../../src/monitoring';

/*
 * A nested workflow for the run-tree tests: invoice-audit runs the extractor agent (a tool call and
 * a priced LLM call) and the auditor agent, which runs the checker agent (an LLM call to a model
 * without a price) and a tool that fails, then fails itself in mode "fail".
 */

export class AuditError extends Error {
  override name = 'AuditError';
}

@Injectable()
export class Model {
  readonly provider = 'openai';
  @TrackLLM()
  async complete(req: { model: string; prompt: number; completion: number }) {
    await new Promise((r) => setTimeout(r, 2));
    return { model: req.model, usage: { prompt_tokens: req.prompt, completion_tokens: req.completion } };
  }
}

@Injectable()
export class Tools {
  @TrackTool()
  async invoke(name: string, input: unknown): Promise<unknown> {
    await new Promise((r) => setTimeout(r, 1));
    if (name === 'lookup') throw new TypeError('lookup service refused the query');
    return { text: `result of ${JSON.stringify(input)}` };
  }
}

@Injectable()
export class Checker {
  readonly agentId = 'checker';
  constructor(private readonly model: Model) {}
  @TrackAgent()
  async execute(): Promise<void> {
    await this.model.complete({ model: 'house-model-7', prompt: 50, completion: 5 });
  }
}

@Injectable()
export class Extractor {
  readonly agentId = 'extractor';
  constructor(private readonly model: Model, private readonly tools: Tools) {}
  @TrackAgent()
  async execute(): Promise<void> {
    await this.tools.invoke('ocr', { page: 1 });
    await this.model.complete({ model: 'gpt-4o-mini', prompt: 1000, completion: 200 });
  }
}

@Injectable()
export class Auditor {
  readonly agentId = 'auditor';
  constructor(private readonly checker: Checker, private readonly tools: Tools) {}
  @TrackAgent()
  async execute(fail: boolean): Promise<void> {
    await this.checker.execute();
    await this.tools.invoke('lookup', 'ACME').catch(() => undefined);
    if (fail) throw new AuditError('totals do not match the ledger');
  }
}

@Injectable()
export class InvoiceAudit {
  constructor(private readonly extractor: Extractor, private readonly auditor: Auditor) {}
  @TrackWorkflow({ workflowId: 'invoice-audit' })
  async run(input: { runId: string; fail: boolean }): Promise<void> {
    await this.extractor.execute();
    await this.auditor.execute(input.fail);
  }
}

@Controller()
export class RunsController {
  constructor(private readonly audit: InvoiceAudit, private readonly extractor: Extractor) {}
  @Get('audit/:runId/:mode')
  async runAudit(@Param('runId') runId: string, @Param('mode') mode: string) {
    await this.audit.run({ runId, fail: mode === 'fail' }).catch(() => undefined);
    return { ok: true };
  }
  @Get('extract')
  async extract() {
    await this.extractor.execute();
    return { ok: true };
  }
}

/** Providers of the traced workflow app. */
export const TRACED_WORKFLOW_PROVIDERS = [Model, Tools, Checker, Extractor, Auditor, InvoiceAudit];
