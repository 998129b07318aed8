// SKELETON
export class JoinRequestService {
  constructor(_deps: object) {}
}
