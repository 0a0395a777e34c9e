import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ProviderApiError } from './llm/simulated-latency';
import { ToolError } from './tools/tool-runner';
import { WorkflowTimeoutError } from './workflows/workflow-executor';

/** Answers failures of upstream providers and tools as 502 / 504 instead of a generic 500. */
@Catch(ProviderApiError, ToolError, WorkflowTimeoutError)
export class UpstreamErrorFilter implements ExceptionFilter {
  catch(error: Error, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>();
    const status = error instanceof WorkflowTimeoutError ? 504 : 502;
    res.status(status).json({ statusCode: status, error: error.name, message: error.message });
  }
}
